package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;

/**
 * The nbd plugin (and the retry and blocksize filters in front of it) through the assembled
 * runtime, proxying real upstream servers the tests start and stop on loopback: Debian's nbdkit
 * and another nbd-osgi. Driven by nbdinfo, nbdsh, qemu-img, nbdcopy and fio with verification.
 */
public class NbdPluginInteropIT {
    private static final Duration T = Duration.ofSeconds(120);

    @Rule
    public TestName name = new TestName();

    /** Short: Unix socket paths must stay under 108 bytes. */
    private Path dir() throws Exception {
        String m = name.getMethodName();
        Path d = Distribution.workDir("nbd/" + m.substring(0, Math.min(m.length(), 16)));
        try (var old = Files.list(d)) {
            for (Path p : old.toList()) {
                if (!Files.isDirectory(p)) {
                    Files.delete(p);
                }
            }
        }
        return d;
    }

    /** fio writing {@code size} at random with crc32c checksums, then reading every block back to verify. */
    private static Tools.Result fioVerify(String uri, String rw, String size, String... more) throws Exception {
        List<String> cmd = Tools.args("fio", "--name=proxy", "--ioengine=nbd", "--uri=" + uri, "--rw=" + rw, "--bs=4k",
                "--iodepth=32", "--size=" + size, "--verify=crc32c", "--do_verify=1", "--verify_fatal=1");
        cmd.addAll(List.of(more));
        return Tools.run(T, java.util.Map.of(), cmd);
    }

    @Test
    public void nbdinfoQemuImgAndNbdcopyThroughTheProxyToNbdkit() throws Exception {
        Path dir = dir();
        Path img = MemoryInteropIT.sparseImage(dir, 3);
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "memory", "64M");
             ServerProcess proxy = ServerProcess.unix(dir, "nbd", "socket=" + up.socket())) {
            String info = Tools.run(T, "nbdinfo", proxy.uri()).ok().out();
            assertTrue(info, info.contains("export-size: 67108864"));
            for (String cap : List.of("can_flush: true", "can_fua: true", "can_trim: true", "can_zero: true",
                    "can_fast_zero: true", "can_multi_conn: true", "can_cache: true", "is_read_only: false")) {
                assertTrue(cap + " in\n" + info, info.contains(cap));
            }
            Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img.toString(), proxy.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), up.uri()).ok();
            Path copy = dir.resolve("copy.img");
            Tools.run(T, "nbdcopy", proxy.uri(), copy.toString()).ok();
            Tools.run(T, "cmp", img.toString(), copy.toString()).ok();
            List<String> map = map(proxy.uri());
            assertEquals("the proxy's map is the upstream's", map(up.uri()), map);
            assertTrue("data and holes: " + map, map.size() > 3);
        }
    }

    private static List<String> map(String uri) throws Exception {
        return Tools.run(T, "nbdinfo", "--map", uri).ok().out().lines()
                .map(l -> l.trim().replaceAll("\\s+", " ")).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    public void fioVerifiesThroughTheProxyToNbdkitAndZeroTrimFuaPassThrough() throws Exception {
        Path dir = dir();
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "--threads=64", "memory", "128M");
             ServerProcess proxy = ServerProcess.unix(dir, "nbd", up.uri())) {
            Tools.Result r = fioVerify(proxy.uri(), "randrw", "64M").ok();
            assertTrue(r.out(), r.out().contains("err= 0"));
            String out = Tools.nbdsh(proxy.uri(), String.join("\n",
                    "import errno",
                    "h.pwrite(b'a' * 65536, 0, nbd.CMD_FLAG_FUA)",
                    "h.zero(4096, 8192, nbd.CMD_FLAG_FAST_ZERO)",
                    "h.trim(32768, 32768)",
                    "h.flush()",
                    "h.cache(65536, 0)",
                    "print(h.pread(4096, 4096) == b'a' * 4096, h.pread(4096, 8192) == bytes(4096))")).ok().out();
            assertEquals("True True", out.trim());
            String upstream = Tools.nbdsh(up.uri(), "print(h.pread(4096, 12288) == b'a' * 4096, h.pread(4096, 8192) == bytes(4096))").ok().out();
            assertEquals("True True", upstream.trim());
        }
    }

    @Test
    public void anotherNbdOsgiUpstreamRepliesOutOfOrderAndFioVerifies() throws Exception {
        Path dir = dir();
        Path img = MemoryInteropIT.sparseImage(dir, 5);
        try (ServerProcess up = ServerProcess.unix(dir.resolve("up"), "memory", "128M");
             ServerProcess proxy = ServerProcess.unix(dir, "nbd", "socket=" + up.socket())) {
            Tools.Result r = fioVerify(proxy.uri(), "randwrite", "64M").ok();
            assertTrue(r.out(), r.out().contains("err= 0"));
            Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img.toString(), proxy.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), up.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), proxy.uri()).ok();
            assertEquals(map(up.uri()), map(proxy.uri()));
        }
    }

    @Test
    public void overTcpByHostnameAndPortOrUriAndWithTheClientsExportNameWhenDynamic() throws Exception {
        Path dir = dir();
        try (NbdkitProcess up = NbdkitProcess.tcp(dir, "up", "info", "mode=exportname");
             ServerProcess byHost = ServerProcess.unix(dir, "nbd", "hostname=127.0.0.1", "port=" + up.port(), "export=fixed");
             ServerProcess dynamic = ServerProcess.unix(dir.resolve("d"), "nbd", "nbd://127.0.0.1:" + up.port(), "dynamic-export=true")) {
            assertEquals("fixed", Tools.nbdsh(byHost.uri("anything"), "print(h.pread(h.get_size(), 0).decode())").ok().out().trim());
            assertEquals("hello", Tools.nbdsh(dynamic.uri("hello"), "print(h.pread(h.get_size(), 0).decode())").ok().out().trim());
        }
    }

    /** The upstream's log filter writes one "Connect" line per connection it accepts. */
    private static long connects(Path log) throws Exception {
        return Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.contains(" Connect ")).count() : 0;
    }

    @Test
    public void connectionsOpensSeveralUpstreamConnectionsOnlyWhereMultiConnIsOffered() throws Exception {
        Path dir = dir();
        Path log = dir.resolve("up-log.txt");
        Path single = dir.resolve("single-log.txt");
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "--filter=log", "memory", "16M", "logfile=" + log);
             NbdkitProcess one = NbdkitProcess.unix(dir, "one", "--filter=log", "--filter=multi-conn", "memory", "16M",
                     "logfile=" + single, "multi-conn-mode=disable");
             ServerProcess proxy = ServerProcess.unix(dir, "nbd", "socket=" + up.socket(), "connections=4");
             ServerProcess proxyOne = ServerProcess.unix(dir.resolve("b"), "nbd", "socket=" + one.socket(), "connections=4")) {
            long before = connects(log);
            String out = Tools.nbdsh(proxy.uri(), "h.pwrite(b'z' * 4096, 0); h.flush(); print(h.pread(4096, 0) == b'z' * 4096)").ok().out();
            assertEquals("True", out.trim());
            assertEquals("one client connection, four upstream connections", 4, connects(log) - before);
            long beforeOne = connects(single);
            Tools.nbdsh(proxyOne.uri(), "h.pread(4096, 0)").ok();
            assertEquals("no multi-conn upstream: one connection", 1, connects(single) - beforeOne);
        }
    }

    @Test
    public void tlsWithAPreSharedKeyToAnUpstreamThatRequiresIt() throws Exception {
        Path dir = dir();
        Path keys = dir.resolve("keys.psk");
        Files.writeString(keys, "alice:" + "0123456789abcdef".repeat(4) + "\n");
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "--tls=require", "--tls-psk=" + keys, "memory", "16M");
             ServerProcess proxy = ServerProcess.unix(dir, "nbd", "socket=" + up.socket(), "tls=require",
                     "tls-psk=" + keys, "tls-username=alice");
             ServerProcess plain = ServerProcess.unix(dir.resolve("plain"), "nbd", "socket=" + up.socket())) {
            String out = Tools.nbdsh(proxy.uri(), "h.pwrite(b'secret' * 100, 0); print(h.pread(600, 0) == b'secret' * 100)").ok().out();
            assertEquals("True", out.trim());
            Tools.Result refused = Tools.run(T, "nbdinfo", plain.uri());
            assertNotEquals("an upstream requiring TLS refuses the plain proxy", 0, refused.exit());
            assertTrue(plain.log(), plain.log().contains("upstream " + up.socket()));
        }
    }

    /** A raw image file for nbdkit's file plugin: it survives the upstream being killed. */
    private static Path disk(Path dir, long size) throws Exception {
        Path img = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(size);
        }
        return img;
    }

    /** Bytes the file holds on disk: grows as writes reach the upstream. */
    private static long allocated(Path img) throws Exception {
        return Long.parseLong(Tools.run(T, "du", "--block-size=1", img.toString()).ok().out().split("\\s+")[0]);
    }

    /**
     * Starts fio (writes at a bounded rate, then verifies), kills the upstream once writes reach
     * it, restarts it {@code downMillis} later; returns fio's result.
     */
    private static Tools.Result fioAcrossAnOutage(NbdkitProcess up, Path img, ServerProcess proxy, long downMillis) throws Exception {
        CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
            try {
                return fioVerify(proxy.uri(), "randwrite", "32M", "--rate_iops=1000");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (allocated(img) < (2 << 20)) {
            assertTrue("fio wrote nothing within 60 s", System.nanoTime() < deadline && !fio.isDone());
            Thread.sleep(50);
        }
        assertTrue("fio is still writing when the upstream dies", !fio.isDone());
        up.kill();
        Thread.sleep(downMillis);
        up.start();
        return fio.get();
    }

    @Test
    public void withoutRetryAKilledUpstreamGivesClearErrorsNoHangAndTheNextClientIsServedWhenItIsBack() throws Exception {
        Path dir = dir();
        Path img = disk(dir, 64L << 20);
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "file", img.toString());
             ServerProcess proxy = ServerProcess.unix(dir, "nbd", "socket=" + up.socket())) {
            Tools.Result r = fioAcrossAnOutage(up, img, proxy, 500);
            assertNotEquals(r.out() + r.err(), 0, r.exit());
            assertTrue(r.out() + r.err(), (r.out() + r.err()).contains("Input/output error"));
            assertTrue(proxy.log(), proxy.log().contains("upstream " + up.socket() + " lost"));
            Tools.run(T, "nbdinfo", proxy.uri()).ok();
            assertEquals("True", Tools.nbdsh(proxy.uri(), "h.pwrite(b'b' * 512, 0); print(h.pread(512, 0) == b'b' * 512)").ok().out().trim());
        }
    }

    @Test
    public void withRetryAKilledAndRestartedUpstreamIsInvisibleAndNoByteIsWrong() throws Exception {
        Path dir = dir();
        Path img = disk(dir, 64L << 20);
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "file", img.toString());
             ServerProcess proxy = ServerProcess.unix(dir, "--filter=retry", "nbd", "socket=" + up.socket(),
                     "retry-delay=500ms")) {
            Tools.Result r = fioAcrossAnOutage(up, img, proxy, 1000).ok();
            assertTrue(r.out(), r.out().contains("err= 0"));
            assertTrue("the outage was seen: " + proxy.log(), proxy.log().contains("lost"));
        }
    }

    @Test
    public void theNbdBundleIsUpdatedWhileFioWritesAndVerifiesAndNoRequestFails() throws Exception {
        Path dir = dir();
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "--threads=64", "memory", "256M");
             Instance nbd = Instance.copy(dir)) {
            nbd.start();
            nbd.client("nbd:export-add", "proxy", "nbd", "socket=" + up.socket()).ok();
            String lb = nbd.client("lb", "-s", "plugin.nbd").ok().out();
            Matcher id = Pattern.compile("(?m)^(\\d+)\\s+active\\s+\\d+\\s+org\\.nbdosgi\\.plugin\\.nbd\\s").matcher(lb);
            assertTrue(lb, id.find());
            CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
                try {
                    return fioVerify(nbd.uri("proxy"), "randwrite", "128M", "--time_based", "--runtime=10",
                            "--verify_backlog=4096");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(3000);
            assertTrue("fio is running", !fio.isDone());
            nbd.client("update", id.group(1)).ok();
            nbd.awaitLog(Duration.ofSeconds(30), "export 'proxy' resumed", 1);
            Tools.Result r = fio.get();
            assertEquals(r.out() + r.err(), 0, r.exit());
            assertTrue(r.out(), r.out().contains("err= 0"));
        }
    }

    private static final Pattern REQUEST = Pattern.compile("(Read|Write|Zero|Trim) id=\\d+ offset=0x([0-9a-f]+) count=0x([0-9a-f]+)");

    @Test
    public void blocksizeAlignsAndSplitsWhatReachesTheUpstream() throws Exception {
        Path dir = dir();
        Path log = dir.resolve("up-log.txt");
        try (NbdkitProcess up = NbdkitProcess.unix(dir, "up", "--filter=log", "memory", "8M", "logfile=" + log);
             ServerProcess proxy = ServerProcess.unix(dir, "--filter=blocksize", "nbd", "socket=" + up.socket(),
                     "minblock=4K", "maxdata=64K")) {
            String out = Tools.nbdsh(proxy.uri(), String.join("\n",
                    "import random",
                    "data = bytes(random.randrange(256) for _ in range(300000))",
                    "h.pwrite(data, 1001)",
                    "h.zero(200000 - 150777, 150777)",
                    "h.pwrite(b'q' * 10, 5000)",
                    "got = h.pread(400000, 0)",
                    "want = bytearray(400000)",
                    "want[1001:301001] = data",
                    "want[150777:200000] = bytes(200000 - 150777)",
                    "want[5000:5010] = b'q' * 10",
                    "print(got == bytes(want), len(got))")).ok().out();
            assertEquals("True 400000", out.trim());
            String info = Tools.run(T, "nbdinfo", proxy.uri()).ok().out();
            assertTrue(info, info.contains("block_size_minimum: 1"));
            int requests = 0;
            for (String line : Files.readAllLines(log)) {
                Matcher m = REQUEST.matcher(line);
                if (m.find()) {
                    long offset = Long.parseLong(m.group(2), 16);
                    long count = Long.parseLong(m.group(3), 16);
                    assertEquals(line, 0, offset % 4096);
                    assertEquals(line, 0, count % 4096);
                    if (m.group(1).equals("Read") || m.group(1).equals("Write")) {
                        assertTrue(line, count <= 65536);
                    }
                    requests++;
                }
            }
            assertTrue("the upstream saw the requests: " + requests, requests > 10);
        }
    }

    @Test
    public void badParametersAreOneLineAndExitStatusOne() throws Exception {
        assertEquals("nbd-osgi: nbd: give the upstream server: uri=, socket= or hostname=", StatsInteropIT.failure("nbd"));
        assertEquals("nbd-osgi: nbd: give only one of uri=, socket= and hostname=",
                StatsInteropIT.failure("nbd", "socket=/tmp/x", "hostname=h"));
        assertEquals("nbd-osgi: nbd: uri: 'http://x/' is not an NBD URI (nbd://, nbds://, nbd+unix://, nbds+unix://)",
                StatsInteropIT.failure("nbd", "http://x/"));
        assertEquals("nbd-osgi: nbd: tls-psk: /nonexistent/keys cannot be read",
                StatsInteropIT.failure("nbd", "socket=/tmp/x", "tls-psk=/nonexistent/keys"));
        assertEquals("nbd-osgi: retry: retries: must not be negative: -2",
                StatsInteropIT.failure("--filter=retry", "memory", "1M", "retries=-2"));
        assertEquals("nbd-osgi: blocksize: minblock: must be a power of 2 up to 64K: 1000",
                StatsInteropIT.failure("--filter=blocksize", "memory", "1M", "minblock=1000"));
    }
}
