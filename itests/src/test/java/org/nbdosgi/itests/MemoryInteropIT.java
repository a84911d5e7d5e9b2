package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;

/** The memory plugin through the assembled runtime, driven by qemu, libnbd's tools and fio. */
public class MemoryInteropIT {
    private static final Duration T = Duration.ofSeconds(120);

    @Rule
    public TestName name = new TestName();

    /** A short directory per test: Unix socket paths must stay under 108 bytes wherever the build runs. */
    private Path dir() throws Exception {
        return Distribution.workDir("memory/" + name.getMethodName());
    }

    /** A 64 MiB raw image: random data islands between holes. */
    static Path sparseImage(Path dir, long seed) throws Exception {
        Path img = dir.resolve("src.img");
        Files.deleteIfExists(img);
        Random r = new Random(seed);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(64L << 20);
            for (long off : new long[] {0, 5L << 20, 17L << 20, (40L << 20) + 4096, (63L << 20)}) {
                byte[] chunk = new byte[(int) (512 * 1024 + r.nextInt(256) * 512L)];
                r.nextBytes(chunk);
                f.seek(off);
                f.write(chunk, 0, (int) Math.min(chunk.length, (64L << 20) - off));
            }
        }
        return img;
    }

    @Test
    public void qemuImgConvertAndCompareRoundTrip() throws Exception {
        Path dir = dir();
        Path img = sparseImage(dir, 1);
        try (ServerProcess s = ServerProcess.unix(dir, "memory", "64M")) {
            Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img.toString(), s.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), s.uri()).ok();
            // and back out again through nbdcopy
            Path copy = dir.resolve("copy.img");
            Tools.run(T, "nbdcopy", s.uri(), copy.toString()).ok();
            Tools.run(T, "cmp", img.toString(), copy.toString()).ok();
        }
    }

    @Test
    public void nbdinfoListShowsTheDefaultExportWhateverMinusESays() throws Exception {
        // as nbdkit: -e only names the export $uri asks for; the plugin serves every name
        try (ServerProcess s = ServerProcess.unix(dir(), "-e", "mydisk", "memory", "16M")) {
            String out = Tools.run(T, "nbdinfo", "--list", s.uri("mydisk")).ok().out();
            assertTrue(out, out.contains("export=\"\""));
            assertTrue(out, out.contains("16777216"));
            assertEquals("16777216", Tools.run(T, "nbdinfo", "--size", s.uri("mydisk")).ok().out().trim());
        }
    }

    @Test
    public void nbdinfoMapShowsWrittenDataAndHoles() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "memory", "8M")) {
            Tools.nbdsh(s.uri(), "h.pwrite(b'x' * (1 << 20), 1 << 20)").ok();
            String map = Tools.run(T, "nbdinfo", "--map", s.uri()).ok().out();
            List<String> lines = map.lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList();
            assertEquals(map, List.of("0 1048576 3 hole,zero", "1048576 1048576 0 data", "2097152 6291456 3 hole,zero"), lines);
        }
    }

    @Test
    public void qemuImgMapAfterTrimAndZero() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "memory", "8M")) {
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x55 0 4M", "-c", "discard 1M 1M",
                    "-c", "write -z 2M 1M", s.uri()).ok();
            String json = Tools.run(T, "qemu-img", "map", "-f", "raw", "--output=json", s.uri()).ok().out();
            String flat = json.replaceAll("\\s+", "");
            assertTrue(json, flat.contains("\"start\":0,\"length\":1048576,\"depth\":0,\"present\":true,\"zero\":false,\"data\":true"));
            assertTrue(json, flat.contains("\"start\":1048576,\"length\":2097152,\"depth\":0,\"present\":true,\"zero\":true,\"data\":false"));
            assertTrue(json, flat.contains("\"start\":3145728,\"length\":1048576,\"depth\":0,\"present\":true,\"zero\":false,\"data\":true"));
            String read = Tools.run(T, "qemu-io", "-f", "raw", "-c", "read -P 0 1M 2M", "-c", "read -P 0x55 3M 1M", s.uri()).ok().out();
            assertTrue(read, !read.contains("Pattern verification failed"));
        }
    }

    @Test
    public void fuaWritesAndFlushAreAdvertisedAndWork() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "memory", "8M")) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "assert h.can_fua() and h.can_flush()",
                    "h.pwrite(b'\\xab' * 65536, 4096, nbd.CMD_FLAG_FUA)",
                    "h.flush()",
                    "assert h.pread(65536, 4096) == b'\\xab' * 65536",
                    "print('ok')")).ok().out();
            assertEquals("ok", out.trim());
            String io = Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -f -P 7 0 64k", "-c", "flush",
                    "-c", "read -P 7 0 64k", s.uri()).ok().out();
            assertTrue(io, !io.contains("failed"));
        }
    }

    @Test
    public void readOnlyExportRefusesWrites() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "-r", "memory", "8M")) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("is_read_only: true"));
            // strict mode off: libnbd sends the write instead of refusing it itself, so the server must say EPERM
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno",
                    "h.set_strict_mode(0)",
                    "try:",
                    "    h.pwrite(b'x' * 512, 0)",
                    "    print('written')",
                    "except nbd.Error as e:",
                    "    print('refused', e.errnum == errno.EPERM)")).out();
            assertEquals("refused True", out.trim());
            Tools.Result io = Tools.run(T, "qemu-io", "-f", "raw", "-c", "write 0 512", s.uri());
            assertTrue(io.out() + io.err(), (io.out() + io.err()).toLowerCase().contains("read-only")
                    || (io.out() + io.err()).contains("Permission denied") || io.exit() != 0);
        }
    }

    @Test
    public void twoClientsAtOnceSeeEachOthersWritesAfterFlush() throws Exception {
        Path dir = dir();
        try (ServerProcess s = ServerProcess.unix(dir, "memory", "64M")) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("can_multi_conn: true"));
            // nbdcopy with several connections writes in parallel; both directions must match
            Path img = sparseImage(dir, 2);
            Tools.run(T, "nbdcopy", "--connections=4", "--requests=16", img.toString(), s.uri()).ok();
            Path back = dir.resolve("back.img");
            Tools.run(T, "nbdcopy", "--connections=4", s.uri(), back.toString()).ok();
            Tools.run(T, "cmp", img.toString(), back.toString()).ok();
            // two independent clients at the same time: one writes while the other reads its own region
            Tools.Result[] results = new Tools.Result[2];
            Thread a = Thread.ofPlatform().start(() -> results[0] = nbdshQuiet(s.uri(),
                    "for i in range(200): h.pwrite(bytes([i % 256]) * 4096, 40 << 20)\nh.flush()\nprint('a')"));
            Thread b = Thread.ofPlatform().start(() -> results[1] = nbdshQuiet(s.uri(),
                    "for i in range(200): h.pread(4096, 0)\nprint('b')"));
            a.join();
            b.join();
            assertEquals("a", results[0].ok().out().trim());
            assertEquals("b", results[1].ok().out().trim());
            String last = Tools.nbdsh(s.uri(), "print(h.pread(4096, 40 << 20) == bytes([199]) * 4096)").ok().out();
            assertEquals("True", last.trim());
        }
    }

    private static Tools.Result nbdshQuiet(String uri, String py) {
        try {
            return Tools.nbdsh(uri, py);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void structuredReadsSendHolesForUnwrittenRanges() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "memory", "8M")) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "h.pwrite(b'd' * 65536, 1 << 20)",
                    "chunks = []",
                    "def cb(buf, off, status, err):",
                    "    chunks.append((off, len(buf), status))",
                    "    return 0",
                    "buf = h.pread_structured(2 << 20, 0, cb)",
                    "holes = [c for c in chunks if c[2] == nbd.READ_HOLE]",
                    "data = [c for c in chunks if c[2] == nbd.READ_DATA]",
                    "print(len(holes) >= 2, sum(c[1] for c in data) == 65536, buf[1 << 20:(1 << 20) + 65536] == b'd' * 65536,",
                    "      buf[:1 << 20] == bytes(1 << 20))")).ok().out();
            assertEquals("True True True True", out.trim());
        }
    }

    @Test
    public void fioVerifiedRandomWritesOverNbd() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "memory", "256M")) {
            Tools.Result r = Tools.run(Duration.ofSeconds(180), Map.of(), List.of("fio", "--name=verify", "--ioengine=nbd",
                    "--uri=" + s.uri(), "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=64M",
                    "--verify=crc32c", "--do_verify=1", "--output-format=terse", "--terse-version=3"));
            r.ok();
            String[] f = r.out().trim().split(";");
            assertEquals("fio reported errors: " + r.out(), "0", f[4]);
            assertNotEquals(r.out(), "0", f[48]);            // write IOPS above zero
        }
    }
}
