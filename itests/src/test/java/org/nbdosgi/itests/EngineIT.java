package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;

import javax.inject.Inject;

import java.time.Duration;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.Plugin;
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

/** The engine inside Felix with the real bundles, and a recording test plugin registered by the test. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class EngineIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    private TestPlugin plugin;
    private ServiceRegistration<Plugin> registration;
    private Path sock;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("EngineIT").resolve("felix.log")).toArray(new Option[0]);
    }

    @Before
    public void setUp() throws Exception {
        plugin = new TestPlugin();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Plugin.NAME_PROPERTY, "test");
        registration = context.registerService(Plugin.class, plugin, props);
        sock = Distribution.workDir("EngineIT").resolve("engine.sock");
        if (!Files.exists(sock)) {
            admin.listenUnix(sock);
        }
    }

    @After
    public void tearDown() throws Exception {
        for (var e : admin.exports()) {
            admin.removeExport(e.name());
        }
        registration.unregister();
    }

    private NbdClient client(String export) throws Exception {
        NbdClient c = NbdClient.unix(sock);
        c.structuredReplies();
        c.go(export);
        return c;
    }

    private static int errorOf(ProtocolIT.ThrowingRunnable r) throws Exception {
        try {
            r.run();
        } catch (NbdClient.ReplyError e) {
            return e.code;
        }
        throw new AssertionError("expected an NBD error");
    }

    @Test
    public void memoryExportRoundTripsDataAndLogsReachTheLog() throws Exception {
        admin.addExport(ExportSpec.parse("disk", false, List.of("memory", "64M")));
        byte[] data = new byte[1 << 20];
        new Random(1).nextBytes(data);
        try (NbdClient c = client("disk")) {
            assertEquals(64L << 20, c.size);
            c.write(4096, data, NbdClient.FLAG_FUA);
            c.flush();
            assertArrayEquals(data, c.read(4096, data.length));
            c.disconnect();
        }
        String log = Files.readString(Distribution.workDir("EngineIT").resolve("felix.log"));
        assertTrue("the engine's log line reaches the log:\n" + log, log.contains("export 'disk' started: memory 64M"));
    }

    @Test
    public void aPluginBugIsEioForThatRequestOnly() throws Exception {
        admin.addExport(ExportSpec.parse("buggy", false, List.of("test", "1M", "bug-at=4096")));
        try (NbdClient a = client("buggy"); NbdClient b = client("buggy")) {
            NbdClient.ReplyError e = null;
            try {
                a.read(4096, 512);
            } catch (NbdClient.ReplyError x) {
                e = x;
            }
            assertEquals(NbdClient.EIO, e.code);
            assertEquals("the client gets the plain error; the details are logged", "NBD error 5: Input/output error", e.getMessage());
            assertEquals(512, a.read(0, 512).length);
            assertEquals(512, b.read(8192, 512).length);
        }
        String log = Files.readString(Distribution.workDir("EngineIT").resolve("felix.log"));
        assertTrue("the bug is logged with the layer's name:\n" + log, log.lines().anyMatch(l -> l.contains("ERROR")
                && l.contains("test: read failed with an unexpected exception")));
        assertTrue("with the plugin's stack trace", log.contains("java.lang.IllegalStateException: a bug at 4096"));
    }

    @Test
    public void aReadFailingPartWayReturnsTheDataBeforeItAndTheFailingOffset() throws Exception {
        admin.addExport(ExportSpec.parse("partial", false, List.of("test", "1M", "bug-at=200000")));
        try (NbdClient c = client("partial")) {
            byte[] data = new byte[300_000];
            new Random(4).nextBytes(data);
            c.write(0, data, 0);
            long cookie = c.send(NbdClient.CMD_READ, 0, 0, 262144, null);
            NbdClient.Reply r = c.receive(262144, 0);
            assertEquals(cookie, r.cookie);
            assertEquals(NbdClient.EIO, r.error);
            assertEquals("the error names where reading stopped", 196608, r.errorOffset);
            assertArrayEquals(java.util.Arrays.copyOf(data, 196608), java.util.Arrays.copyOf(r.data, 196608));
        }
    }

    @Test
    public void namedExportsRouteByNameAndUnknownNamesAreRefused() throws Exception {
        admin.addExport(ExportSpec.parse("a", false, List.of("memory", "1M")));
        admin.addExport(ExportSpec.parse("b", false, List.of("memory", "2M")));
        try (NbdClient c = NbdClient.unix(sock)) {
            assertEquals(List.of("a", "b"), c.list());
            List<NbdClient.OptionReply> r = c.option(NbdClient.OPT_GO, NbdClient.infoData("c"));
            assertEquals(NbdClient.REP_ERR_UNKNOWN, r.get(r.size() - 1).type());
            c.go("b");
            assertEquals(2L << 20, c.size);
        }
    }

    @Test
    public void vanishedClientsLeaveNoConnectionsOrHandlesBehind() throws Exception {
        admin.addExport(ExportSpec.parse("t", false, List.of("test", "4M", "delay-ms=50")));
        assertEquals("the export's size was probed with one handle, opened and closed", plugin.open.get(), plugin.closed.get());
        plugin.open.set(0);
        plugin.closed.set(0);
        for (int i = 0; i < 10; i++) {
            NbdClient c = client("t");
            c.send(NbdClient.CMD_READ, 0, 0, 4096, null);             // in flight when the client goes
            c.send(NbdClient.CMD_WRITE, 0, 0, 1 << 20, null);
            c.write(ByteBuffer.wrap(new byte[100]));                  // and a write cut short
            c.close();
        }
        Wait.until(Duration.ofSeconds(10), () -> "every connection gone and its handles closed (connections "
                + admin.connections() + ", " + plugin.open.get() + " handles opened, " + plugin.closed.get() + " closed)",
                () -> admin.connections().isEmpty() && plugin.closed.get() >= plugin.open.get());
        assertEquals(10, plugin.open.get());
        assertEquals("every handle opened was closed", plugin.open.get(), plugin.closed.get());
        assertEquals(0, admin.exports().get(0).clients());
    }

    @Test
    public void theExportsThreadModelIsEnforced() throws Exception {
        admin.addExport(ExportSpec.parse("serial", false, List.of("test", "1M", "model=serialize_all_requests", "delay-ms=5")));
        admin.addExport(ExportSpec.parse("per-connection", false, List.of("test", "1M", "model=serialize_requests", "delay-ms=20")));
        admin.addExport(ExportSpec.parse("parallel", false, List.of("test", "1M", "delay-ms=20")));
        assertEquals(1, readsInParallel("serial", 2, 16));
        plugin.maxConcurrent.set(0);
        assertEquals("one request at a time per connection, connections side by side", 2, readsInParallel("per-connection", 2, 16));
        plugin.maxConcurrent.set(0);
        assertTrue("parallel plugins see requests at once: " + plugin.maxConcurrent, readsInParallel("parallel", 2, 16) > 4);
    }

    @Test
    public void serializeConnectionsLetsOneClientInAtATime() throws Exception {
        admin.addExport(ExportSpec.parse("one", false, List.of("test", "1M", "model=serialize_connections", "delay-ms=10")));
        NbdClient first = NbdClient.unix(sock);
        first.go("one");
        NbdClient second = NbdClient.unix(sock);
        java.util.concurrent.CompletableFuture<Void> secondIn = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                second.go("one");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        for (int i = 0; i < 16; i++) {
            first.send(NbdClient.CMD_READ, 0, i * 512L, 512, null);
        }
        for (int i = 0; i < 16; i++) {
            assertEquals(0, first.receive(512, 0).error);
        }
        assertEquals("requests of the connection run one at a time", 1, plugin.maxConcurrent.get());
        assertTrue("the second client waits while the first is attached", !secondIn.isDone());
        assertEquals(1, admin.exports().stream().filter(e -> e.name().equals("one")).findFirst().orElseThrow().clients());
        first.disconnect();
        first.close();
        secondIn.get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(512, second.read(0, 512).length);
        second.close();
    }

    @Test
    public void aChainThatNeverWaitsRunsSmallRequestsOnTheConnectionsOwnThread() throws Exception {
        admin.addExport(ExportSpec.parse("quick", false, List.of("test", "4M", "nonblocking=true")));
        admin.addExport(ExportSpec.parse("counted", false, List.of("--filter=stats", "test", "4M", "nonblocking=true")));
        admin.addExport(ExportSpec.parse("delayed", false, List.of("--filter=delay", "test", "4M", "nonblocking=true")));
        admin.addExport(ExportSpec.parse("waiting", false, List.of("test", "4M")));
        for (String export : List.of("quick", "counted")) {
            List<String> threads = readThreads(export);
            assertTrue(export + ": a large read on a thread of its own: " + threads, threads.get(0).endsWith("-request"));
            assertEquals(export + ": the small reads on the reader: " + threads, 1, threads.subList(1, 9).stream().distinct().count());
            assertTrue(export + ": " + threads, threads.get(1).matches("nbd-data-\\d+-reader"));
        }
        for (String export : List.of("delayed", "waiting")) {
            List<String> threads = readThreads(export);
            assertTrue(export + ": every read on a thread of its own: " + threads, threads.stream().allMatch(t -> t.endsWith("-request")));
        }
    }

    @Test
    public void aChainThatBlocksInTheKernelRunsRequestsOnPlatformWorkers() throws Exception {
        // each read takes 20 ms, so pipelined ones are all still in flight when the last is read
        admin.addExport(ExportSpec.parse("disk", false, List.of("test", "4M", "kernel=true", "delay-ms=20")));
        admin.addExport(ExportSpec.parse("counted-disk", false, List.of("--filter=stats", "test", "4M", "kernel=true", "delay-ms=20")));
        admin.addExport(ExportSpec.parse("delayed-disk", false, List.of("--filter=delay", "test", "4M", "kernel=true")));
        for (String export : List.of("disk", "counted-disk")) {
            List<String> threads = readThreads(export);
            assertTrue(export + ": every read on a worker: " + threads, threads.stream().allMatch(t -> t.matches("nbd-data-\\d+-worker-\\d+")));
            threads = readsOneAtATime(export);
            assertTrue(export + ": a client that waits for each reply has its reads run on the reader: " + threads,
                    threads.stream().allMatch(t -> t.matches("nbd-data-\\d+-reader")));
        }
        List<String> threads = readThreads("delayed-disk");
        assertTrue("a filter that sleeps keeps virtual threads: " + threads, threads.stream().allMatch(t -> t.endsWith("-request")));
        assertTrue("even one read at a time: " + threads, readsOneAtATime("delayed-disk").stream().allMatch(t -> t.endsWith("-request")));
    }

    @Test
    public void writesThatLandInThePageCacheRunOnTheReaderOfAChainThatBlocksInTheKernel() throws Exception {
        admin.addExport(ExportSpec.parse("cached-disk", false, List.of("test", "4M", "kernel=true", "cachedwrites=true")));
        admin.addExport(ExportSpec.parse("counted-cached-disk", false,
                List.of("--filter=stats", "test", "4M", "kernel=true", "cachedwrites=true")));
        for (String export : List.of("cached-disk", "counted-cached-disk")) {
            plugin.writeThreads.clear();
            try (NbdClient c = NbdClient.unix(sock)) {
                c.go(export);
                c.sendWrites(new long[] {8192, 512, 0}, new long[] {16384, 4096, NbdClient.FLAG_FUA},
                        new long[] {0, 4096, 0}, new long[] {4096, 4096, 0});
                for (int i = 0; i < 4; i++) {
                    assertEquals(0, c.receive(0, 0).error);
                }
            }
            Map<Long, String> threads = plugin.writeThreads.stream()
                    .collect(Collectors.toMap(w -> Long.parseLong(w.split(" ")[0]), w -> w.split(" ")[1]));
            assertEquals(export + ": " + threads, 4, threads.size());
            for (long offset : List.of(8192L, 16384L)) {
                assertTrue(export + ": part of a page, and FUA, may wait for the device: on workers: " + threads,
                        threads.get(offset).matches("nbd-data-\\d+-worker-\\d+"));
            }
            for (long offset : List.of(0L, 4096L)) {
                assertTrue(export + ": whole pages land in the cache: on the reader: " + threads,
                        threads.get(offset).matches("nbd-data-\\d+-reader"));
            }
        }
    }

    @Test
    public void readsThePageCacheHoldsRunOnTheReaderOfAChainThatBlocksInTheKernel() throws Exception {
        // the first 2 KiB are cached; other reads take 20 ms, so they are all in flight when the last one is read
        admin.addExport(ExportSpec.parse("warm-disk", false, List.of("test", "4M", "kernel=true", "delay-ms=20", "cached-below=2K")));
        admin.addExport(ExportSpec.parse("counted-warm-disk", false,
                List.of("--filter=stats", "test", "4M", "kernel=true", "delay-ms=20", "cached-below=2K")));
        admin.addExport(ExportSpec.parse("delayed-warm-disk", false,
                List.of("--filter=delay", "test", "4M", "kernel=true", "cached-below=2K")));
        for (String export : List.of("warm-disk", "counted-warm-disk", "delayed-warm-disk")) {
            plugin.readThreads.clear();
            try (NbdClient c = NbdClient.unix(sock)) {
                c.go(export);
                c.sendReads(8, 512);
                for (int i = 0; i < 8; i++) {
                    assertEquals(0, c.receive(512, 0).error);
                }
            }
            List<String> threads = List.copyOf(plugin.readThreads);
            long onReader = threads.stream().filter(t -> t.matches("nbd-data-\\d+-reader")).count();
            long onWorkers = threads.stream().filter(t -> t.matches("nbd-data-\\d+-worker-\\d+")).count();
            if (export.startsWith("delayed")) {
                assertEquals("a filter that does not pass it through: every read on a virtual thread: " + threads,
                        8, threads.stream().filter(t -> t.endsWith("-request")).count());
            } else {
                assertEquals(export + ": the 4 cached reads on the reader: " + threads, 4, onReader);
                assertEquals(export + ": the 4 others on workers: " + threads, 4, onWorkers);
            }
        }
    }

    /** The names of the threads that ran 4 reads of 4 KiB, each sent after the reply to the one before, on one connection. */
    private List<String> readsOneAtATime(String export) throws Exception {
        plugin.readThreads.clear();
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go(export);
            for (int i = 0; i < 4; i++) {
                assertEquals(4096, c.read(i * 4096L, 4096).length);
            }
        }
        return List.copyOf(plugin.readThreads);
    }

    /** The names of the threads that ran a read of 2 MiB (over the 1 MiB run on the reader), then 8 small reads sent in one write, on one connection. */
    private List<String> readThreads(String export) throws Exception {
        plugin.readThreads.clear();
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go(export);
            assertEquals(2 << 20, c.read(1 << 20, 2 << 20).length);
            c.sendReads(8, 512);
            for (int i = 0; i < 8; i++) {
                assertEquals(0, c.receive(512, 0).error);
            }
        }
        return List.copyOf(plugin.readThreads);
    }

    @Test
    public void aRotatingDiskSaysSo() throws Exception {
        admin.addExport(ExportSpec.parse("spinning", false, List.of("test", "1M", "rotational=true")));
        admin.addExport(ExportSpec.parse("flash", false, List.of("test", "1M")));
        try (NbdClient spinning = client("spinning"); NbdClient flash = client("flash")) {
            assertTrue((spinning.transmissionFlags & NbdClient.TF_ROTATIONAL) != 0);
            assertEquals(0, flash.transmissionFlags & NbdClient.TF_ROTATIONAL);
        }
    }

    @Test
    public void theDefaultExportIsResolvedThroughTheChain() throws Exception {
        admin.addExport(ExportSpec.parse("multi", false, List.of("test", "1M", "exports=a,b,c", "default=b")));
        assertEquals("the default export's size is known before any client", 2L << 20,
                admin.exports().stream().filter(e -> e.name().equals("multi")).findFirst().orElseThrow().size());
        plugin.openedNames.clear();
        try (NbdClient c = NbdClient.unix(sock)) {
            assertEquals(List.of("multi/a", "multi/b", "multi/c"), c.list());
            c.go("multi");
            assertEquals("the plugin opens its default export by name", List.of("b"), plugin.openedNames);
            assertEquals(2L << 20, c.size);
            assertEquals("multi/b", c.canonicalName);
            assertEquals("test disk 'b'", c.description);
            c.write(0, new byte[] {4}, 0);
        }
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("multi/b");
            assertEquals("the same disk under its canonical name", 4, c.read(0, 1)[0]);
            assertEquals("multi/b", c.canonicalName);
        }
        try (NbdClient c = NbdClient.unix(sock)) {
            c.info(NbdClient.OPT_INFO, "multi/c");
            assertEquals(3L << 20, c.size);
            assertEquals("multi/c", c.canonicalName);
            assertEquals("test disk 'c'", c.description);
            assertEquals(0, c.exportName("multi").length);
            assertEquals("NBD_OPT_EXPORT_NAME gets the default export too", 2L << 20, c.size);
        }
    }

    @Test
    public void theCatchAllExportResolvesTheEmptyNameAsNbdkitDoes() throws Exception {
        admin.addExport(ExportSpec.parse("", false, List.of("test", "1M", "exports=x,y", "default=y")), true);
        try (NbdClient c = NbdClient.unix(sock)) {
            assertEquals(List.of("x", "y"), c.list());
            c.go("");
            assertEquals("y", c.canonicalName);
            assertEquals(2L << 20, c.size);
        }
        try (NbdClient c = NbdClient.unix(sock)) {
            List<NbdClient.OptionReply> r = c.option(NbdClient.OPT_GO, NbdClient.infoData("z"));
            assertEquals("a name the plugin refuses is refused to that client", NbdClient.REP_ERR_UNKNOWN, r.get(r.size() - 1).type());
            c.go("x");
            assertEquals("x", c.canonicalName);
            assertEquals(1L << 20, c.size);
        }
    }

    private int readsInParallel(String export, int clients, int depth) throws Exception {
        List<NbdClient> cs = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            NbdClient c = NbdClient.unix(sock);              // simple replies: any order, no offsets to place
            c.go(export);
            cs.add(c);
        }
        for (NbdClient c : cs) {
            for (int i = 0; i < depth; i++) {
                c.send(NbdClient.CMD_READ, 0, i * 512L, 512, null);
            }
        }
        for (NbdClient c : cs) {
            for (int i = 0; i < depth; i++) {
                assertEquals(0, c.receive(512, 0).error);
            }
            c.close();
        }
        return plugin.maxConcurrent.get();
    }

    @Test
    public void theEngineEmulatesZeroFuaAndCacheForAPluginWithoutThem() throws Exception {
        admin.addExport(ExportSpec.parse("emu", false, List.of("test", "1M")));
        try (NbdClient c = client("emu")) {
            assertTrue((c.transmissionFlags & NbdClient.TF_SEND_FUA) != 0);
            assertTrue((c.transmissionFlags & NbdClient.TF_SEND_WRITE_ZEROES) != 0);
            assertTrue((c.transmissionFlags & NbdClient.TF_SEND_CACHE) != 0);
            plugin.calls.clear();
            c.write(0, new byte[512], NbdClient.FLAG_FUA);
            assertEquals(List.of("write 0+512 flags=0", "flush"), plugin.calls);
            plugin.calls.clear();
            c.zero(4096, 8192, 0);
            assertEquals(List.of("write 4096+8192 flags=0"), plugin.calls);
            plugin.calls.clear();
            c.cache(0, 65536);
            assertEquals(List.of("read 0+65536"), plugin.calls);
            assertEquals("emulated zeroing is not fast: fast zero is not offered", 0, c.transmissionFlags & NbdClient.TF_SEND_FAST_ZERO);
            assertEquals(NbdClient.EINVAL, errorOf(() -> c.zero(0, 4096, NbdClient.FLAG_FAST_ZERO)));
        }
    }

    @Test
    public void removingAnExportDisconnectsItsClients() throws Exception {
        admin.addExport(ExportSpec.parse("gone", false, List.of("memory", "1M")));
        try (NbdClient c = client("gone")) {
            c.write(0, new byte[] {1}, 0);
            admin.removeExport("gone");
            assertTrue(c.isClosedByServer(5000));
        }
        try (NbdClient c = NbdClient.unix(sock)) {
            List<NbdClient.OptionReply> r = c.option(NbdClient.OPT_GO, NbdClient.infoData("gone"));
            assertEquals(NbdClient.REP_ERR_UNKNOWN, r.get(r.size() - 1).type());
        }
    }

    /**
     * Issue 13 item 9: a parameter the plugin declares secret gets its value from +FILE; the value
     * shows neither in the export's layers (nbd:chain) nor in its description (nbd:exports, the
     * log); standard input is the command line's only.
     */
    @Test
    public void aDeclaredSecretIsReadFromItsFileAndNeverShown() throws Exception {
        Path pw = Distribution.workDir("EngineIT").resolve("key.txt");
        Files.writeString(pw, "k3y-value\n");
        var info = admin.addExport(ExportSpec.parse("sec", false, List.of("test", "1M", "key=+" + pw)));
        assertEquals("k3y-value", plugin.key);
        assertEquals("***", info.layers().get(0).params().get("key"));
        assertEquals("test 1M key=***", info.spec().describe(plugin.parameters()));
        assertEquals("key=+" + pw, info.spec().toArgs().get(2));
        String log = Files.readString(Distribution.workDir("EngineIT").resolve("felix.log"));
        assertTrue(log, log.contains("export 'sec' started: test 1M key=***"));
        assertTrue(!log.contains("k3y-value"));
        try {
            admin.addExport(ExportSpec.parse("stdin", false, List.of("test", "1M", "key=-")));
            org.junit.Assert.fail("no standard input here");
        } catch (org.nbdosgi.api.ConfigException e) {
            assertEquals("test: key: '-' reads standard input of the command line, which this export does not have: give key=+FILE",
                    e.getMessage());
        }
    }
}
