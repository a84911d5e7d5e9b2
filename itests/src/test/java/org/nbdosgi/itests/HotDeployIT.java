package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;

/** Hot deployment and live rewiring in a running container, driven as an operator would. */
public class HotDeployIT {
    @Rule
    public TestName name = new TestName();

    /** Under a short temporary path: the console's Unix socket path must fit in 107 bytes. */
    private Instance instance() throws Exception {
        return Instance.copy(Files.createTempDirectory("nbdit"));
    }

    @Test
    public void removingAPluginJarParksItsExportAndPuttingItBackResumesWithoutAClientError() throws Exception {
        try (Instance nbd = instance()) {
            Path jar = nbd.bundles().resolve("plugin-memory.jar");
            Path deployed = nbd.deploy().resolve("plugin-memory.jar");
            Files.move(jar, deployed);                       // the plugin comes from deploy/, like a hot-deployed one
            nbd.start("-Dnbd.park.timeout=60s");
            nbd.awaitOutput(Duration.ofSeconds(10), "running", "nbd:exports");
            // a client writes, then keeps a read waiting while the plugin is gone
            CompletableFuture<Tools.Result> client = CompletableFuture.supplyAsync(() -> {
                try {
                    return Tools.nbdsh(nbd.uri(""), String.join("\n",
                            "import time",
                            "h.pwrite(b'\\x5a' * 65536, 1 << 20)",
                            "print('written', flush=True)",
                            "time.sleep(3)",
                            "t = time.time()",
                            "ok = h.pread(65536, 1 << 20) == b'\\x5a' * 65536",
                            "print('read', ok, round(time.time() - t, 1))"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(1500);
            Path aside = nbd.home().resolve("plugin-memory.jar.aside");
            Files.move(deployed, aside);
            nbd.awaitOutput(Duration.ofSeconds(10), "parked (waiting for plugin 'memory')", "nbd:exports");
            Thread.sleep(3000);                              // the client's read is now waiting
            Files.move(aside, deployed);
            nbd.awaitOutput(Duration.ofSeconds(10), "running", "nbd:exports");
            Tools.Result r = client.get(60, TimeUnit.SECONDS);
            assertEquals(r.err(), 0, r.exit());
            String[] lines = r.out().trim().split("\n");
            assertEquals("written", lines[0]);
            assertTrue(r.out(), lines[1].startsWith("read True"));

            // a newer jar over the old one: FileInstall updates the bundle, the export swaps, the data stays
            String before = nbd.client("lb", "-s").out();
            Files.copy(deployed, nbd.home().resolve("newer.jar"));
            Files.move(nbd.home().resolve("newer.jar"), deployed, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            deployed.toFile().setLastModified(System.currentTimeMillis() + 5000);
            long deadline = System.currentTimeMillis() + 15_000;
            while (nbd.log().split("export '' resumed", -1).length < 3 && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);                           // the second resume: after the update
            }
            assertEquals(nbd.log(), 3, nbd.log().split("export '' resumed", -1).length);
            Tools.Result after = Tools.nbdsh(nbd.uri(""), "print(h.pread(65536, 1 << 20) == b'\\x5a' * 65536)");
            assertEquals(before + nbd.log(), "True", after.ok().out().trim());
        }
    }

    @Test
    public void deletingTheCfgRemovesTheExportAndDisconnectsItsClients() throws Exception {
        try (Instance nbd = instance()) {
            nbd.start();
            try (NbdClient c = NbdClient.tcp("127.0.0.1", port(nbd))) {
                c.go("");
                Files.delete(nbd.etc().resolve("org.nbdosgi.export-default.cfg"));
                assertTrue("the client is disconnected", c.isClosedByServer(10_000));
            }
            nbd.awaitOutput(Duration.ofSeconds(10), "NAME  STATE  SIZE  CLIENTS  THREADS  CHAIN\n", "nbd:exports");
        }
    }

    private static int port(Instance nbd) {
        return Integer.parseInt(nbd.uri("").replaceAll(".*:(\\d+)/$", "$1"));
    }

    @Test
    public void aFilterJarDroppedIntoDeployAppearsWithinFiveSecondsAndGoesIntoALiveExport() throws Exception {
        try (Instance nbd = instance()) {
            Path staged = nbd.home().resolve("filter-delay.jar");
            Files.move(nbd.bundles().resolve("filter-delay.jar"), staged);
            nbd.start();
            assertTrue(!nbd.client("nbd:filters").out().contains("delay"));
            try (NbdClient c = NbdClient.tcp("127.0.0.1", port(nbd))) {
                c.go("");
                c.write(0, new byte[] {7, 7}, 0);
                Files.copy(staged, nbd.deploy().resolve("filter-delay.jar"));
                Duration took = nbd.awaitOutput(Duration.ofSeconds(5), "delay", "nbd:filters");
                System.out.println("HotDeployIT: the dropped filter was listed after " + took.toMillis() + " ms");
                nbd.client("nbd:filter-insert", "\"\"", "delay", "rdelay=20ms").ok();
                long t0 = System.nanoTime();
                byte[] back = c.read(0, 2);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(7, back[0]);
                assertTrue("the live export now delays reads: " + ms + " ms", ms >= 20);
                String chain = nbd.client("nbd:chain", "\"\"").ok().out();
                assertTrue(chain, chain.contains("filter  delay") && chain.contains("rdelay=20ms"));
                assertTrue(Files.readString(nbd.etc().resolve("org.nbdosgi.export-default.cfg")).contains("filters = delay"));
            }
        }
    }

    @Test
    public void aCfgEditRewiresTheLiveExport() throws Exception {
        try (Instance nbd = instance()) {
            nbd.start();
            try (NbdClient c = NbdClient.tcp("127.0.0.1", port(nbd))) {
                c.go("");
                c.write(4096, new byte[] {3}, 0);
                Path cfg = nbd.etc().resolve("org.nbdosgi.export-default.cfg");
                Files.writeString(cfg, Files.readString(cfg) + "filters = stats\n");
                nbd.awaitOutput(Duration.ofSeconds(10), "--filter=stats memory", "nbd:exports");
                assertEquals(3, c.read(4096, 1)[0]);
                String stats = nbd.client("nbd:stats", "\"\"").ok().out();
                assertTrue(stats, stats.contains("read: 1 ops"));
            }
        }
    }

    @Test
    public void aRefusedCfgEditLeavesClientsUntouchedAndSaysWhy() throws Exception {
        try (Instance nbd = instance()) {
            nbd.start();
            CompletableFuture<Tools.Result> client = CompletableFuture.supplyAsync(() -> {
                try {
                    return Tools.nbdsh(nbd.uri(""), String.join("\n",
                            "import time",
                            "h.pwrite(b'k' * 4096, 0)",
                            "time.sleep(4)",
                            "print(h.get_size(), h.pread(4096, 0) == b'k' * 4096)"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            nbd.awaitOutput(Duration.ofSeconds(10), "running  1G    1", "nbd:exports");
            Path cfg = nbd.etc().resolve("org.nbdosgi.export-default.cfg");
            Files.writeString(cfg, Files.readString(cfg).replace("size = 1G", "size = 2G"));
            nbd.awaitOutput(Duration.ofSeconds(10), "configuration change refused: refused: client", "nbd:exports");
            String exports = nbd.client("nbd:exports").out();
            assertTrue(exports, exports.contains("was promised size 1073741824 (would be 2147483648)"));
            Tools.Result r = client.get(60, TimeUnit.SECONDS);
            assertEquals(r.err(), "1073741824 True", r.out().trim());
        }
    }

    @Test
    public void consoleChangesAreLiveRefusedWhenTheyBreakAPromiseAndWrittenBackToEtc() throws Exception {
        try (Instance nbd = instance()) {
            nbd.start();
            Tools.Result added = nbd.client("nbd:export-add", "scratch", "memory", "64M");
            assertEquals(added.out(), 0, added.exit());
            Path file = nbd.etc().resolve("org.nbdosgi.export-scratch.cfg");
            assertTrue(Files.readString(file).contains("size = 64M"));
            try (NbdClient c = NbdClient.tcp("127.0.0.1", port(nbd))) {
                c.go("scratch");
                c.write(0, new byte[] {1, 2, 3}, 0);
                Tools.Result refused = nbd.client("nbd:export-set", "scratch", "size=128M");
                assertEquals(1, refused.exit());
                assertTrue(refused.err(), refused.err().contains("was promised size 67108864 (would be 134217728)"));
                assertTrue(Files.readString(file).contains("size = 64M"));
                assertEquals(3, c.read(0, 3).length);
                Tools.Result forced = nbd.client("nbd:export-set", "--force", "scratch", "size=128M");
                assertEquals(forced.out(), 0, forced.exit());
                assertTrue("the client that was promised 64M is disconnected", c.isClosedByServer(5000));
            }
            assertTrue(Files.readString(file).contains("size = 128M"));
            Tools.Result size = Tools.run(Duration.ofSeconds(30), "nbdinfo", "--size", nbd.uri("scratch"));
            assertEquals("the data survived the resize", "134217728", size.ok().out().trim());
            Tools.Result removed = nbd.client("nbd:export-remove", "scratch");
            assertEquals(removed.out(), 0, removed.exit());
            assertTrue(!Files.exists(file));
            Tools.Result unknown = nbd.client("nbd:chain", "nosuch");
            assertEquals(1, unknown.exit());
            assertEquals("nbd-osgi: no export named nosuch", unknown.err().trim());
            Tools.Result script = Tools.run(Duration.ofSeconds(60), "sh", "-c",
                    nbd.home().resolve("bin/nbd-osgi-client") + " nbd:exports >/dev/null && "
                            + nbd.home().resolve("bin/nbd-osgi-client") + " nbd:export-remove nosuch 2>/dev/null || echo failed=$?");
            assertEquals("failed=1", script.out().trim());
        }
    }
}
