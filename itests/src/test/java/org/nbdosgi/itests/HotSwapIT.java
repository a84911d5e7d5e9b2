package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.ExportState;
import org.nbdosgi.api.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerMethod;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Bundles updated and stopped under a connected client, in Felix: the export drains, hands its
 * state to the successor and resumes, or parks and gives up after the park timeout.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerMethod.class)
public class HotSwapIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() throws Exception {
        List<Option> o = new ArrayList<>(Distribution.bundles(Distribution.workDir("HotSwapIT").resolve("felix.log")));
        o.add(systemProperty("nbd.park.timeout").value("3s"));
        return o.toArray(new Option[0]);
    }

    private Bundle bundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }

    private Path listen(String name) throws Exception {
        Path sock = Distribution.workDir("HotSwapIT").resolve(name + ".sock");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        return sock;
    }

    @Test
    public void updatingTheMemoryPluginUnderIoKeepsEveryByte() throws Exception {
        Path sock = listen("update");
        admin.addExport(ExportSpec.parse("disk", false, List.of("memory", "64M")));
        byte[] before = new byte[4 << 20];
        new Random(7).nextBytes(before);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong slowestNanos = new AtomicLong();
        try (NbdClient c = NbdClient.unix(sock)) {
            c.structuredReplies();
            c.go("disk");
            c.write(0, before, 0);
            CompletableFuture<Integer> io = CompletableFuture.supplyAsync(() -> {
                int ops = 0;
                byte[] block = new byte[4096];
                Random r = new Random(8);
                try {
                    while (!stop.get()) {
                        long off = (8L << 20) + 4096L * r.nextInt(1024);
                        r.nextBytes(block);
                        long t0 = System.nanoTime();
                        c.write(off, block, 0);
                        byte[] back = c.read(off, 4096);
                        slowestNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
                        assertArrayEquals(block, back);
                        ops++;
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                return ops;
            });
            Bundle memory = bundle("org.nbdosgi.plugin.memory");
            for (int i = 0; i < 3; i++) {
                Thread.sleep(300);
                memory.update();
            }
            Thread.sleep(300);
            stop.set(true);
            assertTrue("I/O went on during the updates", io.get(30, TimeUnit.SECONDS) > 0);
            assertArrayEquals("data written before the updates", before, c.read(0, before.length));
        }
        assertTrue("the slowest request took " + slowestNanos.get() / 1_000_000 + " ms", slowestNanos.get() < 2_000_000_000L);
        assertEquals(ExportState.RUNNING, admin.export("disk").state());
    }

    @Test
    public void aStoppedPluginParksItsExportAndAfterTheTimeoutClientsGetEshutdown() throws Exception {
        Path sock = listen("park");
        admin.addExport(ExportSpec.parse("parked", false, List.of("memory", "1M")));
        Bundle memory = bundle("org.nbdosgi.plugin.memory");
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("parked");
            c.write(0, new byte[] {4, 2}, 0);
            memory.stop();
            assertEquals(ExportState.PARKED, admin.export("parked").state());
            long t0 = System.nanoTime();
            long cookie = c.send(NbdClient.CMD_READ, 0, 0, 2, null);
            NbdClient.Reply r = c.receive(2, 0);
            long waited = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(cookie, r.cookie);
            assertEquals(NbdClient.ESHUTDOWN, r.error);
            assertTrue("the request waited for the park timeout: " + waited + " ms", waited >= 2500);
            assertTrue("then the client is disconnected", c.isClosedByServer(5000));
        }
        memory.start();
        long deadline = System.currentTimeMillis() + 10_000;
        while (admin.export("parked").state() != ExportState.RUNNING && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("parked");
            assertArrayEquals("the data waited for its plugin", new byte[] {4, 2}, c.read(0, 2));
        }
    }

    @Test
    public void aPluginComingBackWithinTheTimeoutResumesTheWaitingRequest() throws Exception {
        Path sock = listen("resume");
        admin.addExport(ExportSpec.parse("resume", false, List.of("memory", "1M")));
        Bundle memory = bundle("org.nbdosgi.plugin.memory");
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("resume");
            c.write(512, new byte[] {9}, 0);
            memory.stop();
            long cookie = c.send(NbdClient.CMD_READ, 0, 512, 1, null);
            Thread.sleep(1000);
            memory.start();
            NbdClient.Reply r = c.receive(1, 512);
            assertEquals(cookie, r.cookie);
            assertEquals(0, r.error);
            assertArrayEquals(new byte[] {9}, r.data);
        }
    }
}
