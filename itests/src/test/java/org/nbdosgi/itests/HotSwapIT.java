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

import java.time.Duration;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.testkit.Wait;
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

    @Inject
    private CommandProcessor processor;

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

    /** The bundle of that symbolic name and version. */
    private Bundle bundle(String symbolicName, String version) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName()) && b.getVersion().toString().equals(version)) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName + " " + version);
    }

    /** Installs and starts a copy of one of the distribution's bundles as version {@code version}. */
    private Bundle installVersion(String jar, String version) throws Exception {
        Path copy = VersionedJar.copy(Distribution.home().resolve("bundles").resolve(jar), version,
                Distribution.workDir("HotSwapIT").resolve(version + "-" + jar));
        Bundle b = context.installBundle(copy.toUri().toString());
        b.start();
        return b;
    }

    /** A console command's output, or its failure message. */
    private String console(String line) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream ps = new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8);
        try (CommandSession s = processor.createSession(new java.io.ByteArrayInputStream(new byte[0]), ps, ps)) {
            s.execute(line);
        } catch (Exception failed) {
            ps.println(failed.getMessage());
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
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
        Wait.until(Duration.ofSeconds(10), "export 'parked' running", () -> admin.export("parked").state() == ExportState.RUNNING);
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

    @Test
    public void whenOneOfTwoVersionsOfAPluginGoesItsExportsMoveToTheOtherWithTheirData() throws Exception {
        Path sock = listen("two-plugins");
        admin.addExport(ExportSpec.parse("upgraded", false, List.of("memory", "8M")));
        Bundle old = bundle("org.nbdosgi.plugin.memory");
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("upgraded");
            c.write(4096, new byte[] {1, 2, 3}, 0);
            Bundle newer = installVersion("plugin-memory.jar", "9.0.0");
            assertEquals("the running export stays on its provider", ExportState.RUNNING, admin.export("upgraded").state());
            old.uninstall();                                 // synchronous: the export has moved when this returns
            assertEquals(ExportState.RUNNING, admin.export("upgraded").state());
            assertArrayEquals("the data moved with it", new byte[] {1, 2, 3}, c.read(4096, 3));
            newer.stop();
            assertEquals("the last provider gone: parked", ExportState.PARKED, admin.export("upgraded").state());
        }
    }

    @Test
    public void whenOneOfTwoVersionsOfAFilterGoesItsExportsMoveToTheOther() throws Exception {
        Path sock = listen("two-filters");
        admin.addExport(ExportSpec.parse("filtered", false, List.of("--filter=stats", "memory", "8M")));
        Bundle old = bundle("org.nbdosgi.filter.stats");
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("filtered");
            c.write(0, new byte[] {7}, 0);
            installVersion("filter-stats.jar", "9.0.0");
            old.stop();
            assertEquals(ExportState.RUNNING, admin.export("filtered").state());
            assertArrayEquals(new byte[] {7}, c.read(0, 1));
            String chain = console("nbd:chain filtered");
            assertTrue(chain, chain.contains("filter  stats") && chain.contains("plugin  memory"));
        }
    }

    /** A provider of "memory" that cannot create a disk. */
    private static final class BrokenMemory implements Plugin {
        public String name() {
            return "memory";
        }

        public String description() {
            return "a memory plugin that fails";
        }

        public List<Parameter> parameters() {
            return List.of(Parameter.of("size", "bytes"));
        }

        public String magicParameter() {
            return "size";
        }

        public PluginInstance create(org.nbdosgi.api.Config config, ExportContext export) throws ConfigException {
            throw new ConfigException("memory: out of pages");
        }
    }

    @Test
    public void aSuccessorThatFailsToConfigureParksTheExportSaysWhyAndTheStateWaitsForTheNextOne() throws Exception {
        Path sock = listen("broken");
        admin.addExport(ExportSpec.parse("fragile", false, List.of("memory", "1M")));
        Bundle memory = bundle("org.nbdosgi.plugin.memory");
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("fragile");
            c.write(0, new byte[] {4, 2}, 0);
            java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
            props.put(Plugin.NAME_PROPERTY, "memory");
            var broken = context.registerService(Plugin.class, new BrokenMemory(), props);
            memory.stop();                                   // the broken provider is the one left
            assertEquals(ExportState.PARKED, admin.export("fragile").state());
            String exports = console("nbd:exports");
            assertTrue(exports, exports.matches("(?s).*fragile\\s+parked \\(memory: out of pages\\).*"));
            String log = Files.readString(Distribution.workDir("HotSwapIT").resolve("felix.log"));
            assertTrue(log, log.contains("export 'fragile' failed to start: memory: out of pages"));
            broken.unregister();
        }
        memory.start();                                      // a working provider again: the kept pages come back
        Wait.until(Duration.ofSeconds(10), "export 'fragile' running", () -> admin.export("fragile").state() == ExportState.RUNNING);
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("fragile");
            assertArrayEquals("the data waited through the failed successor", new byte[] {4, 2}, c.read(0, 2));
        }
    }
}
