package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
            nbd.awaitLog(Duration.ofSeconds(15), "export '' resumed", 2);     // the second resume: after the update
            Tools.Result after = Tools.nbdsh(nbd.uri(""), "print(h.pread(65536, 1 << 20) == b'\\x5a' * 65536)");
            assertEquals(before + nbd.log(), "True", after.ok().out().trim());
        }
    }

    @Test
    public void deletingTheCfgLetsRequestsInFlightFinishTellsWaitingOnesEshutdownAndDisconnects() throws Exception {
        try (Instance nbd = instance()) {
            Files.writeString(nbd.etc().resolve("org.nbdosgi.export-slow.cfg"),
                    "name = slow\nplugin = memory\nsize = 1M\nfilters = delay\nrdelay = 10s\n");
            nbd.start();
            nbd.awaitOutput(Duration.ofSeconds(10), "slow", "nbd:exports");
            try (NbdClient c = NbdClient.tcp("127.0.0.1", port(nbd))) {
                c.go("slow");
                long inFlight = c.send(NbdClient.CMD_READ, 0, 0, 512, null);        // in the delay filter for 10 s
                Thread.sleep(1500);
                Files.delete(nbd.etc().resolve("org.nbdosgi.export-slow.cfg"));
                long t0 = System.nanoTime();
                while (nbd.client("nbd:exports").out().contains("slow")) {    // the removal has begun: draining
                    assertTrue("the export is still listed", System.nanoTime() - t0 < 7_000_000_000L);
                    Thread.sleep(50);
                }
                long waiting = c.send(NbdClient.CMD_READ, 0, 512, 512, null);   // waits at the closed gate
                java.util.Map<Long, NbdClient.Reply> replies = new java.util.HashMap<>();
                for (int i = 0; i < 2; i++) {                // replies may come in either order
                    NbdClient.Reply r = c.receive(512, 0);
                    replies.put(r.cookie, r);
                }
                assertEquals(nbd.log(), java.util.Set.of(inFlight, waiting), replies.keySet());
                assertEquals("the request in flight finished", 0, replies.get(inFlight).error);
                assertEquals("the waiting request is told the export shut down", NbdClient.ESHUTDOWN, replies.get(waiting).error);
                assertTrue("then the client is disconnected", c.isClosedByServer(10_000));
            }
            nbd.awaitLog(Duration.ofSeconds(10), "export 'slow' stopped", 1);
        }
    }

    @Test
    public void theConsoleSocketIsNeverOpenToOthers() throws Exception {
        try (Instance nbd = instance()) {
            nbd.start();
            Path socket = nbd.home().resolve("data/console.sock");
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
            try (java.util.stream.Stream<Path> data = Files.list(nbd.home().resolve("data"))) {
                assertEquals("the private directory it was bound in is gone", List.of("cache", "console.sock", "instance.lock"),
                        data.map(p -> p.getFileName().toString()).sorted().toList());
            }
            assertTrue(nbd.log(), nbd.log().contains("console socket: " + socket));
        }
    }

    @Test
    public void aNewerPluginJarBesideTheOldOneTakesItsExportsOverWhenTheOldJarIsDeleted() throws Exception {
        try (Instance nbd = instance()) {
            Path old = nbd.deploy().resolve("plugin-memory-0.2.jar");
            Files.move(nbd.bundles().resolve("plugin-memory.jar"), old);
            Path newer = VersionedJar.copy(old, "9.0.0", nbd.home().resolve("plugin-memory-9.0.jar"));
            nbd.start();
            try (NbdClient c = NbdClient.tcp("127.0.0.1", port(nbd))) {
                c.go("");
                c.write(8192, new byte[] {8, 1, 9}, 0);
                Files.move(newer, nbd.deploy().resolve("plugin-memory-9.0.jar"));
                nbd.awaitOutput(Duration.ofSeconds(10), "active  1      org.nbdosgi.plugin.memory  9.0.0", "lb", "-s", "memory");
                assertTrue(nbd.client("nbd:exports").out().contains("running"));
                Files.delete(old);                                             // the upgrade's last step
                long t0 = System.nanoTime();
                while (nbd.client("lb", "-s", "memory").out().contains("0.2.0")) {
                    assertTrue("0.2 was not uninstalled", System.nanoTime() - t0 < 10_000_000_000L);
                    Thread.sleep(100);
                }
                String exports = nbd.client("nbd:exports").out();
                assertTrue(exports, exports.contains("running") && !exports.contains("parked"));
                assertArrayEquals("the data moved to version 9.0", new byte[] {8, 1, 9}, c.read(8192, 3));
                String log = nbd.log();
                assertTrue(log, log.contains("export '': plugin 'memory' is gone, moving to another provider of that name")
                        && log.contains("1 other provider left"));
            }
        }
    }

    @Test
    public void rewiringAParkedExportFailsWritesNothingAndLeavesItWaiting() throws Exception {
        try (Instance nbd = instance()) {
            Path jar = nbd.deploy().resolve("plugin-memory.jar");
            Files.move(nbd.bundles().resolve("plugin-memory.jar"), jar);
            nbd.start();
            Path cfg = nbd.etc().resolve("org.nbdosgi.export-default.cfg");
            String before = Files.readString(cfg);
            Files.move(jar, nbd.home().resolve("plugin-memory.jar.aside"));
            nbd.awaitOutput(Duration.ofSeconds(10), "parked (waiting for plugin 'memory')", "nbd:exports");
            Tools.Result r = nbd.client("nbd:export-set", "\"\"", "size=2G");
            assertEquals(r.out(), 1, r.exit());
            assertEquals("nbd-osgi: export '' is parked (waiting for plugin 'memory') and the new chain cannot start "
                    + "either: no plugin 'memory'; nothing changed\n", r.err());
            assertEquals("nothing was written to etc/", before, Files.readString(cfg));
            assertTrue(nbd.client("nbd:exports").out().contains("memory size=1G"));
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
                assertTrue(refused.err(), refused.err().matches("nbd-osgi: refused: client \\d+ \\(127\\.0\\.0\\.1:\\d+\\) "
                        + "on export 'scratch' was promised size 67108864 \\(would be 134217728\\) \\(--force disconnects that client\\)\n"));
                assertTrue(Files.readString(file).contains("size = 64M"));
                assertEquals(3, c.read(0, 3).length);
                Tools.Result forced = nbd.client("nbd:export-set", "--force", "scratch", "size=128M");
                assertEquals(forced.out(), 0, forced.exit());
                assertTrue("the client that was promised 64M is disconnected", c.isClosedByServer(5000));
            }
            assertTrue(Files.readString(file).contains("size = 128M"));
            Tools.Result resized = Tools.nbdsh(nbd.uri("scratch"), "print(h.get_size(), list(h.pread(3, 0)))");
            assertEquals("the data survived the resize", "134217728 [1, 2, 3]", resized.ok().out().trim());
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

            Tools.Result noBundle = nbd.client("update", "9999");
            assertEquals(1, noBundle.exit());
            assertEquals("nbd-osgi: no bundle with id 9999 (bundle:list lists them)\n", noBundle.err());
            Tools.Result help = nbd.client("lb", "--help").ok();     // Felix's name for Karaf's bundle:list
            assertTrue(help.out(), help.out().startsWith("bundle:list - list the bundles (alias lb)")
                    && help.out().contains("usage: bundle:list [-s] [-l] [TEXT]"));
        }
    }

    @Test
    public void consoleChangesAreAppliedOnceAndSurviveARestart() throws Exception {
        try (Instance nbd = instance()) {
            nbd.start("-Dnbd.log.level.org.nbdosgi.engine.server.Exports=debug");
            String same = "export 'scratch': its configuration describes the export as it is";
            nbd.client("nbd:export-add", "scratch", "memory", "64M").ok();
            nbd.awaitLog(Duration.ofSeconds(10), same, 1);                // FileInstall read the file back
            nbd.client("nbd:export-set", "scratch", "size=128M").ok();
            nbd.awaitLog(Duration.ofSeconds(10), same, 2);
            nbd.client("nbd:filter-insert", "scratch", "stats").ok();
            String log = nbd.awaitLog(Duration.ofSeconds(10), same, 3);
            assertEquals("one rewire per change, none when the file comes back:\n" + log, 2,
                    Instance.count(log, "export 'scratch' rewired"));
            String layers = layers(nbd.client("nbd:chain", "scratch").ok().out());

            nbd.stop();
            nbd.start();
            assertTrue(nbd.client("nbd:exports").out().contains("--filter=stats memory size=128M"));
            assertEquals("the same chain after the restart", layers, layers(nbd.client("nbd:chain", "scratch").ok().out()));
        }
    }

    /** nbd:chain without its first line (state and size, which a restart resets). */
    private static String layers(String chain) {
        return chain.substring(chain.indexOf('\n') + 1);
    }
}
