package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;

/**
 * The vddk plugin through the assembled runtime, on the stand-in libvixDiskLib that the plugin's
 * test build compiles (bundles/plugin-vddk/target/vddk), driven by qemu-img, nbdinfo, nbdsh and fio.
 * The stand-in appends what it saw (requests in flight, threads on a handle, InitEx/Exit) to a
 * journal named in the VDDK config file.
 */
public class VddkInteropIT {
    private static final Duration T = Duration.ofSeconds(120);
    private static final int CHUNK = 65536;

    @Rule
    public TestName name = new TestName();

    static Path standInLibdir() {
        return Distribution.home().resolve("../../../bundles/plugin-vddk/target/vddk").normalize();
    }

    private Path dir() throws Exception {
        // short: a Unix socket path must stay under 108 bytes
        String m = name.getMethodName();
        return Distribution.workDir("vddk/" + m.substring(0, Math.min(m.length(), 14)));
    }

    /** A VDDK config file for the stand-in: its journal in {@code dir}, plus {@code settings}. */
    static Path config(Path dir, String... settings) throws Exception {
        Path conf = dir.resolve("vddk.conf");
        Files.writeString(conf, "standin.facts=" + dir.resolve("facts.log") + "\n" + String.join("\n", settings) + "\n");
        Files.deleteIfExists(dir.resolve("facts.log"));
        return conf;
    }

    static List<String> journal(Path dir) throws Exception {
        Path f = dir.resolve("facts.log");
        return Files.exists(f) ? Files.readAllLines(f) : List.of();
    }

    private static String[] vddk(Path file, Path conf, String... more) {
        List<String> a = new ArrayList<>(List.of("vddk", "file=" + file, "libdir=" + standInLibdir(), "config=" + conf));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    /** A sparse image with data in whole 64 KiB chunks at {@code islands} ({offset, length} pairs). */
    private static Path image(Path dir, String name, long size, long seed, long... islands) throws Exception {
        Path img = dir.resolve(name);
        Files.deleteIfExists(img);
        Random r = new Random(seed);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(size);
            for (int i = 0; i < islands.length; i += 2) {
                byte[] data = new byte[(int) islands[i + 1]];
                r.nextBytes(data);
                f.seek(islands[i]);
                f.write(data);
            }
        }
        return img;
    }

    private static List<String> mapLines(String map) {
        return map.lines().map(l -> l.trim().replaceAll("\\s+", " ")).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    public void qemuImgRoundTripAndNbdinfoMapMatchesTheStandInsAllocation() throws Exception {
        Path dir = dir();
        long size = 64L << 20;
        Path disk = image(dir, "disk.img", size, 1, 0, 2 * CHUNK, 5L << 20, 5 * CHUNK, (40L << 20) + CHUNK, CHUNK,
                (63L << 20), 1L << 20);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir)))) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("export-size: 67108864"));
            assertTrue(info, info.contains("block_size_minimum: 512"));
            assertTrue(info, info.contains("can_flush: true") && info.contains("can_fua: true"));
            assertEquals(List.of(
                    "0 131072 0 data",
                    "131072 5111808 3 hole,zero",
                    "5242880 327680 0 data",
                    "5570560 36438016 3 hole,zero",
                    "42008576 65536 0 data",
                    "42074112 23986176 3 hole,zero",
                    "66060288 1048576 0 data"), mapLines(Tools.run(T, "nbdinfo", "--map", s.uri()).ok().out()));

            Path src = image(dir, "src.img", size, 2, 0, 1L << 20, 9L << 20, 3 * CHUNK, (50L << 20) + 4096, 100_000);
            Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), s.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), s.uri()).ok();
            s.stop();
            Tools.run(T, "cmp", src.toString(), disk.toString()).ok();
        }
        List<String> j = journal(dir);
        assertEquals(j.toString(), 1, lines(dir, "InitEx ").size());
        assertEquals(j.toString(), 1, lines(dir, "Exit ").size());
        assertEquals("the probe's handle and at least one per client: " + j, lines(dir, "Open ").size(), lines(dir, "Close ").size());
        assertTrue(j.toString(), lines(dir, "Close ").size() >= 2);
        for (String l : concat(lines(dir, "Close "), lines(dir, "Exit "))) {
            assertEquals(l, 0, fact(l, "two-threads"));
            assertEquals(l, 0, fact(l, "open-close-overlap"));
        }
    }

    /** The journal's lines that start with {@code prefix}. */
    static List<String> lines(Path dir, String prefix) throws Exception {
        return journal(dir).stream().filter(l -> l.startsWith(prefix)).toList();
    }

    /** The number after {@code key=} in a journal line. */
    static int fact(String line, String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b" + key + "=(\\d+)").matcher(line);
        assertTrue("no " + key + " in: " + line, m.find());
        return Integer.parseInt(m.group(1));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    @Test
    public void fioAtIodepth32KeepsManyRequestsInFlightOnOneHandleAndVerifies() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 64L << 20, 3);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir)))) {
            Tools.Result fio = Tools.run(T, "fio", "--name=vddk", "--ioengine=nbd", "--uri=" + s.uri(), "--rw=randwrite",
                    "--bs=4k", "--iodepth=32", "--numjobs=1", "--size=16M", "--verify=crc32c", "--do_verify=1",
                    "--verify_fatal=1").ok();
            assertTrue(fio.out(), fio.out().contains("err= 0"));
            s.stop();
        }
        List<String> closes = lines(dir, "Close ");
        int max = closes.stream().mapToInt(l -> fact(l, "max-inflight")).max().orElse(0);
        assertTrue("more than 8 async requests in flight on one handle: " + closes, max > 8);
        for (String l : closes) {
            assertEquals(l, 0, fact(l, "two-threads"));
            assertEquals(l, 0, fact(l, "pending"));
            assertEquals(l, 0, fact(l, "open-close-overlap"));
        }
    }

    @Test
    public void eightConnectionsAtOnceFlushingUnderLoadNeverOverlapOpensAndWaitBeforeEachFlush() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 64L << 20, 13);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir)))) {
            // eight connections opened at once, each with 16 writes in flight and a flush every 32 writes
            Tools.Result fio = Tools.run(T, "fio", "--name=vddk", "--ioengine=nbd", "--uri=" + s.uri(), "--rw=randwrite",
                    "--bs=4k", "--iodepth=16", "--numjobs=8", "--size=4M", "--offset_increment=4M", "--fsync=32",
                    "--verify=crc32c", "--do_verify=1", "--verify_fatal=1").ok();
            assertTrue(fio.out(), fio.out().contains("err= 0"));
            // one connection: FUA writes and flushes sent while many writes are in flight
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "cookies, bufs = [], []",
                    "for i in range(256):",
                    "    if i % 16 == 15:",
                    "        cookies.append(h.aio_flush())",
                    "    else:",
                    "        bufs.append(nbd.Buffer.from_bytearray(bytearray([i % 251]) * 4096))",
                    "        cookies.append(h.aio_pwrite(bufs[-1], (40 << 20) + i * 4096, flags=nbd.CMD_FLAG_FUA if i % 4 == 0 else 0))",
                    "    while h.aio_in_flight() >= 32:",
                    "        h.poll(-1)",
                    "while h.aio_in_flight() > 0:",
                    "    h.poll(-1)",
                    "for c in cookies:",
                    "    h.aio_command_completed(c)",
                    "print('ok')")).ok().out();
            assertEquals("ok", out.trim());
            s.stop();
        }
        List<String> j = journal(dir);
        assertTrue("the probe and nine client connections: " + lines(dir, "Open "), lines(dir, "Open ").size() >= 10);
        assertEquals(j.toString(), lines(dir, "Open ").size(), lines(dir, "Close ").size());
        assertTrue("requests in flight: " + lines(dir, "Close "),
                lines(dir, "Close ").stream().mapToInt(l -> fact(l, "max-inflight")).max().orElse(0) >= 16);
        for (String l : concat(lines(dir, "Close "), lines(dir, "Exit "))) {
            assertEquals(l, 0, fact(l, "open-close-overlap"));
            assertEquals(l, 0, fact(l, "two-threads"));
        }
        List<String> flushes = lines(dir, "Flush ");
        assertTrue("fio's and nbdsh's flushes and FUA writes reached VDDK: " + flushes.size(), flushes.size() >= 8 + 16 + 64);
        for (String l : flushes) {
            assertEquals("Wait before Flush: " + l, 0, fact(l, "pending"));
        }
    }

    /**
     * ... and the metrics endpoint counts each VDDK call and the failed one
     * ({@code nbd_vddk_request_seconds{op="read_async"}}, {@code nbd_vddk_request_errors_total}).
     */
    @Test
    public void anInjectedReadAsyncFailureIsEioForThatRequestOnly() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 8L << 20, 4, 0, 8L << 20);
        int metricsPort = Tools.freePort();
        List<String> args = new ArrayList<>(List.of("--metrics=127.0.0.1:" + metricsPort));
        args.addAll(List.of(vddk(disk, config(dir, "standin.fail=ReadAsync@2048"))));
        try (ServerProcess s = ServerProcess.unix(dir, args.toArray(new String[0]))) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno",
                    "try:",
                    "    h.pread(4096, 2048 * 512)",
                    "    print('no error')",
                    "except nbd.Error as e:",
                    "    print('failed', e.errnum == errno.EIO)",
                    "assert len(h.pread(65536, 0)) == 65536",
                    "h.pwrite(b'x' * 4096, 2048 * 512)",
                    "assert len(h.pread(4096, 2047 * 512 - 4096)) == 4096",
                    "print('still serving')")).ok().out();
            assertEquals("failed True\nstill serving", out.trim());
            // three ReadAsync (one failed) and one WriteAsync, each timed to its completion
            String text = MetricsIT.scrape(metricsPort);
            assertEquals(text, 3, MetricsIT.value(text, "nbd_vddk_request_seconds_count{export=\"\",op=\"read_async\"}"), 0);
            assertEquals(text, 3, MetricsIT.value(text, "nbd_vddk_request_seconds_bucket{export=\"\",op=\"read_async\",le=\"+Inf\"}"), 0);
            assertTrue(text, MetricsIT.value(text, "nbd_vddk_request_seconds_sum{export=\"\",op=\"read_async\"}") > 0);
            assertEquals(text, 1, MetricsIT.value(text, "nbd_vddk_request_errors_total{export=\"\",op=\"read_async\"}"), 0);
            assertEquals(text, 1, MetricsIT.value(text, "nbd_vddk_request_seconds_count{export=\"\",op=\"write_async\"}"), 0);
            assertEquals(text, 0, MetricsIT.value(text, "nbd_vddk_request_errors_total{export=\"\",op=\"write_async\"}"), 0);
            for (String call : List.of("connect_ex", "open", "get_info", "query_allocated_blocks")) {
                assertTrue(call + ": " + text, MetricsIT.value(text, "nbd_vddk_request_seconds_count{export=\"\",op=\"" + call + "\"}") >= 1);
            }
            Tools.run(T, "nbdinfo", s.uri()).ok();
            assertTrue(s.isAlive());
        }
    }

    @Test
    public void anInjectedWriteAsyncFailureFromTheEnvironmentIsEioForThatRequestOnly() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 8L << 20, 14, 0, 8L << 20);
        byte[] before = Files.readAllBytes(disk);
        try (ServerProcess s = ServerProcess.unix(dir, Map.of("VDDK_STANDIN_FAIL", "WriteAsync@2048"), vddk(disk, config(dir)))) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno",
                    "try:",
                    "    h.pwrite(b'\\x11' * 4096, 2046 * 512)",
                    "    print('no error')",
                    "except nbd.Error as e:",
                    "    print('failed', e.errnum == errno.EIO)",
                    "h.pwrite(b'\\x22' * 1024, 2046 * 512)",
                    "h.pwrite(b'\\x33' * 4096, 2049 * 512)",
                    "h.flush()",
                    "assert h.pread(1024, 2046 * 512) == b'\\x22' * 1024",
                    "assert h.pread(4096, 2049 * 512) == b'\\x33' * 4096",
                    "print('still serving')")).ok().out();
            assertEquals("failed True\nstill serving", out.trim());
            assertTrue(s.log(), s.log().contains("injected failure of WriteAsync at sector 2046"));
            s.stop();
        }
        byte[] after = Files.readAllBytes(disk);
        assertArrayEquals("the failed write left sector 2048 as it was", Arrays.copyOfRange(before, 2048 * 512, 2049 * 512),
                Arrays.copyOfRange(after, 2048 * 512, 2049 * 512));
    }

    @Test
    public void anInjectedFlushFailureReachesTheClient() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 8L << 20, 15);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir, "standin.fail=Flush")))) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno",
                    "h.pwrite(b'\\x44' * 4096, 0)",
                    "for what, call in (('flush', lambda: h.flush()), ('fua', lambda: h.pwrite(b'x' * 512, 8192, nbd.CMD_FLAG_FUA))):",
                    "    try:",
                    "        call()",
                    "        print(what, 'no error')",
                    "    except nbd.Error as e:",
                    "        print(what, 'failed', e.errnum == errno.EIO)",
                    "assert h.pread(4096, 0) == b'\\x44' * 4096",
                    "print('still serving')")).ok().out();
            assertEquals("flush failed True\nfua failed True\nstill serving", out.trim());
        }
        assertEquals(journal(dir).toString(), 2, lines(dir, "Flush ").size());
    }

    @Test
    public void initExOrGetInfoFailingAtStartGivesOneClearLineAndExit1() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 1L << 20, 16);
        Run init = runToExit(Map.of("VDDK_STANDIN_FAIL", "InitEx"), vddk(disk, config(dir)));
        assertEquals(init.output, 1, init.exit);
        assertEquals(init.output, "nbd-osgi: vddk: libdir: VixDiskLib_InitEx failed: Unknown error (VDDK error 1)",
                lastLine(init.output));
        assertFalse(init.output, init.output.contains("\tat ") || init.output.contains("Exception"));
        assertEquals(List.of("InitEx failed (injected)"), journal(dir));

        Run info = runToExit(vddk(disk, config(dir, "standin.fail=GetInfo")));
        assertEquals(info.output, 1, info.exit);
        assertEquals(info.output, "nbd-osgi: vddk: file: " + disk + ": VixDiskLib_GetInfo: Unknown error (VDDK error 1)",
                lastLine(info.output));
        assertFalse(info.output, info.output.contains("\tat ") || info.output.contains("Exception"));
        List<String> j = journal(dir);
        assertEquals("the probe's handle is closed and VDDK exited: " + j, List.of("InitEx", "ConnectEx", "Open", "Close", "Exit"),
                j.stream().map(l -> l.split(" ")[0]).toList());
    }

    private static String lastLine(String output) {
        List<String> l = output.lines().filter(x -> !x.isBlank()).toList();
        return l.isEmpty() ? "" : l.get(l.size() - 1);
    }

    @Test
    public void requestsNotAlignedTo512BytesAreServedCorrectly() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 1L << 20, 5, 0, 1L << 20);
        byte[] model = Files.readAllBytes(disk);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir)));
             NbdClient c = NbdClient.unix(s.socket())) {
            c.structuredReplies();
            goWithoutBlockSize(c);                         // no NBD_INFO_BLOCK_SIZE: nothing enforces alignment
            Random r = new Random(6);
            for (int i = 0; i < 50; i++) {
                int off = r.nextInt(model.length - 2000);
                byte[] data = new byte[1 + r.nextInt(1999)];
                r.nextBytes(data);
                c.write(off, data, i % 7 == 0 ? NbdClient.FLAG_FUA : 0);
                System.arraycopy(data, 0, model, off, data.length);
                int roff = r.nextInt(model.length - 3000);
                int rlen = 1 + r.nextInt(2999);
                assertArrayEquals("read " + roff + "+" + rlen, Arrays.copyOfRange(model, roff, roff + rlen), c.read(roff, rlen));
            }
            c.flush();
            c.disconnect();
        }
        assertArrayEquals(model, Files.readAllBytes(disk));
    }

    /** NBD_OPT_GO asking for no information: the client never agrees to the minimum block size. */
    private static void goWithoutBlockSize(NbdClient c) throws Exception {
        for (NbdClient.OptionReply r : c.option(NbdClient.OPT_GO, ByteBuffer.allocate(6).putInt(0).putShort((short) 0).array())) {
            assertTrue("GO accepted", r.type() > 0);
        }
    }

    @Test
    public void remoteParametersReachVddkAndThePasswordIsNeverLogged() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 4L << 20, 7, 0, CHUNK);
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "s3cret-pw\n");
        Path conf = config(dir, "standin.password=s3cret-pw");
        try (ServerProcess s = ServerProcess.unix(dir, "-v", "vddk", "file=" + disk, "libdir=" + standInLibdir(),
                "config=" + conf, "server=esx.example.com", "thumbprint=AB:CD:EF", "user=root", "password=+" + pw,
                "vm=moref=vm-42", "port=4443", "transports=nbd:nbdssl", "snapshot=snapshot-7", "stats=true")) {
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", disk.toString(), s.uri()).ok();
            s.stop();
            String log = s.log();
            assertFalse("the password never reaches the log", log.contains("s3cret-pw"));
            assertTrue(log, log.contains("VDDK function statistics for export ''"));
            assertTrue(log, log.lines().anyMatch(l -> l.startsWith("VixDiskLib_ReadAsync ")));
            assertTrue(log, log.lines().anyMatch(l -> l.startsWith("VixDiskLib_ConnectEx ")));
        }
        String connect = journal(dir).stream().filter(l -> l.startsWith("ConnectEx remote")).findFirst().orElse("none");
        assertTrue(connect, connect.contains("server=esx.example.com thumbprint=AB:CD:EF vmxSpec=moref=vm-42 credType=1 "
                + "user=root password=ok cookie=- port=4443 nfcHostPort=902"));
        assertTrue(connect, connect.contains("snapshot=snapshot-7 transports=nbd:nbdssl"));
    }

    @Test
    public void statsTrueWithoutVerboseStillShowsTheTableOnStderrWithTheProbesCalls() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 4L << 20, 17, 0, CHUNK);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir), "stats=true"))) {
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", disk.toString(), s.uri()).ok();
            assertFalse("nothing before the export stops:\n" + s.log(), s.log().contains("VDDK function statistics"));
            assertEquals(0, s.stop());
            String log = s.log();
            assertTrue(log, log.contains("VDDK function statistics for export '':"));
            assertTrue(log, log.lines().anyMatch(l -> l.startsWith("FUNCTION ")));
            // the start-up probe's GetInfo and QueryAllocatedBlocks count: 1 + one per connection
            assertTrue(log, calls(log, "VixDiskLib_GetInfo") >= 2);
            assertTrue(log, calls(log, "VixDiskLib_QueryAllocatedBlocks") >= 1);
            assertTrue(log, calls(log, "VixDiskLib_ReadAsync") >= 1);
            assertEquals(log, calls(log, "VixDiskLib_Open"), calls(log, "VixDiskLib_Close"));
            assertFalse("no debug output without -v:\n" + log, log.contains("DEBUG"));
        }
    }

    /** The CALLS column of a function's row in the statistics table. */
    private static long calls(String log, String function) {
        return log.lines().filter(l -> l.startsWith(function + " ")).mapToLong(l -> Long.parseLong(l.trim().split("\\s+")[1]))
                .findFirst().orElse(0);
    }

    @Test
    public void aSessionCookieReachesVddkAndIsNeverLogged() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 1L << 20, 18, 0, CHUNK);
        try (ServerProcess s = ServerProcess.unix(dir, "-v", "vddk", "file=" + disk, "libdir=" + standInLibdir(),
                "config=" + config(dir), "server=vcenter.example.com", "thumbprint=AB:CD", "user=admin",
                "cookie=52b3-c0ffee-5e55", "vm=moref=vm-9")) {
            Tools.run(T, "nbdinfo", s.uri()).ok();
            s.stop();
            assertFalse("the cookie never reaches the log:\n" + s.log(), s.log().contains("c0ffee"));
        }
        String connect = lines(dir, "ConnectEx remote").stream().findFirst().orElse("none");
        assertTrue(connect, connect.contains("credType=2 user=admin password=none cookie=52b3-c0ffee-5e55"));
    }

    /**
     * Issue 13 item 9: nbdkit's indirect forms for the password, resolved by the engine for any
     * parameter a plugin declares secret: standard input (a pipe here) and an inherited descriptor
     * in the foreground, and standard input read by the launcher before it goes to the background.
     */
    @Test
    public void thePasswordFromStandardInputOrADescriptorInEveryMode() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 1L << 20, 9);
        Path conf = config(dir, "standin.password=s3cret-pw");
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "s3cret-pw\n");
        String launcher = ServerProcess.launcher().toString();
        String common = String.join(" ", "vddk", "file=" + disk, "libdir=" + standInLibdir(), "config=" + conf,
                "server=esx", "thumbprint=AB", "user=root", "vm=moref=1");
        String size = " --run 'nbdinfo --size \"$uri\"'";
        assertEquals("1048576\n", Tools.run(T, "sh", "-c", "printf 's3cret-pw\\n' | " + launcher + " -U - " + common
                + " password=-" + size).ok().out());
        assertEquals("1048576\n", Tools.run(T, "sh", "-c", "exec 3<" + pw + "; " + launcher + " -U - " + common
                + " password=-3" + size).ok().out());
        Path sock = dir.resolve("bg.sock");
        Path pid = dir.resolve("bg.pid");
        Tools.run(T, "sh", "-c", "printf 's3cret-pw\\n' | " + launcher + " -U " + sock + " -P " + pid + " " + common
                + " password=-").ok();
        try {
            assertEquals("1048576\n", Tools.run(T, "nbdinfo", "--size", "nbd+unix:///?socket=" + sock).ok().out());
        } finally {
            Tools.run(T, "kill", Files.readString(pid).trim()).ok();
        }
        List<String> connects = journal(dir).stream().filter(l -> l.startsWith("ConnectEx remote")).toList();
        assertTrue(connects.toString(), connects.size() >= 3 && connects.stream().allMatch(l -> l.contains("password=ok")));
    }

    @Test
    public void aWrongPasswordFailsAtStartInOneLine() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 1L << 20, 8);
        Path conf = config(dir, "standin.password=right");
        Run r = runToExit("vddk", "file=" + disk, "libdir=" + standInLibdir(), "config=" + conf, "server=esx",
                "thumbprint=AB", "user=root", "password=wrong", "vm=moref=1");
        assertEquals(r.output, 1, r.exit);
        assertTrue(r.output, r.output.contains("nbd-osgi: vddk: file: " + disk + ": VixDiskLib_ConnectEx: Unknown error"));
        assertFalse(r.output, r.output.contains("\tat "));
    }

    @Test
    public void badCommandLinesGiveOneClearLineAndExit1() throws Exception {
        Path dir = dir();
        Path empty = Files.createDirectories(dir.resolve("no-vddk-here"));
        String[][] cases = {
                {"nbd-osgi: vddk: file: a local disk must be an absolute path: 'disk.vmdk'", "vddk", "disk.vmdk"},
                {"nbd-osgi: vddk: a remote disk needs file, server, thumbprint, user, password (or cookie) and vm; missing: thumbprint, user, vm, password (or cookie)",
                        "vddk", "[ds] vm/vm.vmdk", "server=esx.example.com"},
                {"nbd-osgi: vddk: libdir: no libvixDiskLib.so.{9,8,7,6} in " + empty + "/lib64 or " + empty
                        + " (set libdir= to the unpacked VDDK distribution)",
                        "vddk", "/x/disk.vmdk", "libdir=" + empty},
                {"nbd-osgi: vddk: create-size: must be a positive multiple of 512, got 1000",
                        "vddk", "/x/new.vmdk", "create=true", "create-size=1000"},
        };
        for (String[] c : cases) {
            Run r = runToExit(Arrays.copyOfRange(c, 1, c.length));
            assertEquals(r.output, 1, r.exit);
            assertTrue(r.output, r.output.lines().anyMatch(l -> l.equals(c[0])));
            assertFalse(r.output, r.output.contains("\tat ") || r.output.contains("Exception"));
        }
    }

    @Test
    public void createTrueMakesANewLocalDisk() throws Exception {
        Path dir = dir();
        Path disk = dir.resolve("new.vmdk");
        Files.deleteIfExists(disk);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir), "create=true", "create-size=8M",
                "create-adapter-type=scsi-lsilogic", "create-hwversion=esx60"))) {
            assertTrue(Tools.run(T, "nbdinfo", "--size", s.uri()).ok().out().trim().equals("8388608"));
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 1M 64k", "-c", "read -P 0x5a 1M 64k", s.uri()).ok();
        }
        String create = journal(dir).stream().filter(l -> l.startsWith("Create ")).findFirst().orElse("none");
        assertEquals("Create path=" + disk + " diskType=1 adapterType=3 hwVersion=11 capacity=16384", create);
        assertEquals(8L << 20, Files.size(disk));
        // VDDK refuses to create over an existing disk: the export does not start
        Run again = runToExit(vddk(disk, config(dir), "create=true", "create-size=8M"));
        assertEquals(again.output, 1, again.exit);
        assertTrue(again.output, again.output.contains("VixDiskLib_Create: The file already exists"));
    }

    @Test
    public void aFailingExtentsProbeMeansNoExtentsNotFailingRequests() throws Exception {
        Path dir = dir();
        Path disk = image(dir, "disk.img", 4L << 20, 9, 0, CHUNK);
        try (ServerProcess s = ServerProcess.unix(dir, vddk(disk, config(dir, "standin.fail=QueryAllocatedBlocks")))) {
            assertEquals(List.of("0 4194304 0 data"), mapLines(Tools.run(T, "nbdinfo", "--map", s.uri()).ok().out()));
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", disk.toString(), s.uri()).ok();
            assertFalse("the probe's complaint is silenced:\n" + s.log(), s.log().contains("QueryAllocatedBlocks is not supported"));
        }
    }

    private record Run(int exit, String output) {
    }

    /** Runs the launcher to its end (for command lines that must fail). */
    private static Run runToExit(String... args) throws Exception {
        return runToExit(Map.of(), args);
    }

    /** As {@link #runToExit(String...)}, with these environment variables added. */
    private static Run runToExit(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ServerProcess.launcher().toString(), "-f", "-U", "-"));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile("vddk-cli", ".out");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(cmd + " did not exit:\n" + Files.readString(out));
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
