package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import javax.inject.Inject;

import java.time.Duration;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ConnectionInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.testkit.Wait;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * Backpressure: with 1 MiB of payload and 8 requests in flight allowed per connection
 * (nbd.connection.bytes, nbd.connection.requests) and 2 MiB in the whole server
 * (nbd.payload.budget), a client that pipelines writes faster than the plugin takes them finds the
 * server reading no further, and everything completes once the plugin moves again; several such
 * clients share the server's bytes, none is refused or left out.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BackpressureIT {
    private static final int MAX_REQUESTS = 8;

    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    private TestPlugin plugin;
    private ServiceRegistration<Plugin> registration;
    private Path sock;

    @Configuration
    public Option[] config() throws Exception {
        List<Option> options = Distribution.bundles(Distribution.workDir("BackpressureIT").resolve("felix.log"));
        options.add(frameworkProperty("nbd.connection.bytes").value("1M"));
        options.add(frameworkProperty("nbd.connection.requests").value(Integer.toString(MAX_REQUESTS)));
        options.add(frameworkProperty("nbd.payload.budget").value("2M"));
        return options.toArray(new Option[0]);
    }

    @Before
    public void setUp() throws Exception {
        plugin = new TestPlugin();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Plugin.NAME_PROPERTY, "test");
        registration = context.registerService(Plugin.class, plugin, props);
        sock = Distribution.workDir("BackpressureIT").resolve("nbd.sock");
        if (!Files.exists(sock)) {
            admin.listenUnix(sock);
        }
        admin.addExport(ExportSpec.parse("slow", false, List.of("test", "16M")));
    }

    @After
    public void tearDown() throws Exception {
        plugin.holdWrites = null;
        admin.removeExport("slow");
        registration.unregister();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) seed);
        return b;
    }

    private int inFlight() {
        return admin.connections().stream().mapToInt(ConnectionInfo::inFlight).sum();
    }

    /** Waits until the plugin has seen {@code n} writes, then gives the server time to take more if it would. */
    private void awaitWritesArrived(int n) throws Exception {
        Wait.until(Duration.ofSeconds(10), () -> n + " writes at the plugin (" + plugin.writesArrived.get() + " so far)",
                () -> plugin.writesArrived.get() >= n);
        Thread.sleep(500);
    }

    /**
     * Sends {@code count} writes of {@code size} bytes without reading a reply, on a thread of its
     * own (its socket writes block once the server stops reading); counts those fully sent.
     */
    private Thread pipeline(NbdClient c, int count, int size, AtomicInteger sent) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                for (int i = 0; i < count; i++) {
                    c.send(NbdClient.CMD_WRITE, 0, (long) i * size, size, pattern(size, i + 1));
                    sent.incrementAndGet();
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    private static void awaitReplies(NbdClient c, int count) throws Exception {
        Set<Long> cookies = new HashSet<>();
        for (int i = 0; i < count; i++) {
            NbdClient.Reply r = c.receive(0, 0);
            assertEquals(0, r.error);
            assertTrue("each request answered once", cookies.add(r.cookie));
        }
    }

    @Test
    public void theByteBudgetStopsTheServerReadingPayloads() throws Exception {
        int size = 256 << 10;                                          // four of these fill the 1 MiB budget
        int count = 32;
        plugin.holdWrites = new CountDownLatch(1);
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("slow");
            AtomicInteger sent = new AtomicInteger();
            Thread sender = pipeline(c, count, size, sent);
            awaitWritesArrived(4);
            assertEquals("the server took the writes its budget holds, and no more", 4, plugin.writesArrived.get());
            assertEquals(4, inFlight());
            assertTrue("the client cannot send all it wants (" + sent + " of " + count + " sent)", sent.get() < count);
            assertTrue(sender.isAlive());

            plugin.holdWrites.countDown();
            awaitReplies(c, count);
            sender.join(10_000);
            assertEquals(count, sent.get());
            assertEquals(count, plugin.writesArrived.get());
            for (int i : new int[] {0, 5, count - 1}) {
                assertArrayEquals("write " + i + " stored whole", pattern(size, i + 1), c.read((long) i * size, size));
            }
        }
    }

    @Test
    public void theRequestSlotsStopTheServerReadingRequests() throws Exception {
        int count = 40;
        plugin.holdWrites = new CountDownLatch(1);
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("slow");
            AtomicInteger sent = new AtomicInteger();
            Thread sender = pipeline(c, count, 4096, sent);
            awaitWritesArrived(MAX_REQUESTS);
            assertEquals("no more requests in flight than allowed", MAX_REQUESTS, plugin.writesArrived.get());
            assertEquals(MAX_REQUESTS, inFlight());

            plugin.holdWrites.countDown();
            awaitReplies(c, count);
            sender.join(10_000);
            assertEquals(count, plugin.writesArrived.get());
            assertArrayEquals(pattern(4096, count), c.read((long) (count - 1) * 4096, 4096));
        }
    }

    /**
     * Issue 13 item 7: four clients each pipeline 8 writes of 256 KiB (each may hold 1 MiB): the
     * server takes 2 MiB of them, its whole budget, and no more; once the plugin moves, every write
     * of every client completes, without an error.
     */
    @Test
    public void theServersByteBudgetIsSharedAndNeverAnError() throws Exception {
        int size = 256 << 10;
        int count = 8;
        int clients = 4;
        plugin.holdWrites = new CountDownLatch(1);
        List<NbdClient> cs = new java.util.ArrayList<>();
        try {
            List<AtomicInteger> sent = new java.util.ArrayList<>();
            for (int k = 0; k < clients; k++) {
                NbdClient c = NbdClient.unix(sock);
                c.go("slow");
                cs.add(c);
                sent.add(new AtomicInteger());
            }
            for (int k = 0; k < clients; k++) {
                int base = k * count * size;
                NbdClient c = cs.get(k);
                AtomicInteger n = sent.get(k);
                Thread.ofPlatform().daemon().start(() -> {
                    try {
                        for (int i = 0; i < count; i++) {
                            c.send(NbdClient.CMD_WRITE, 0, base + (long) i * size, size, pattern(size, i + 1));
                            n.incrementAndGet();
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            awaitWritesArrived(8);
            assertEquals("the server holds 2 MiB of payload in all, not 4 x 1 MiB", 8, plugin.writesArrived.get());
            plugin.holdWrites.countDown();
            for (NbdClient c : cs) {
                awaitReplies(c, count);
            }
            assertEquals(clients * count, plugin.writesArrived.get());
            for (int k = 0; k < clients; k++) {
                assertArrayEquals(pattern(size, count), cs.get(k).read((long) (k * count + count - 1) * size, size));
            }
        } finally {
            for (NbdClient c : cs) {
                c.close();
            }
        }
    }
}
