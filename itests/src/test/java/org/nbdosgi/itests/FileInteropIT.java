package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.Assume;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;

/** The file plugin through the assembled runtime, on real files, driven by qemu, libnbd's tools and fio. */
public class FileInteropIT {
    private static final Duration T = Duration.ofSeconds(120);
    private static final int MIB = 1 << 20;

    @Rule
    public TestName name = new TestName();

    /** Short: the server's socket lives in it, and Unix socket paths stop at 108 bytes. */
    private Path dir() throws Exception {
        String m = name.getMethodName();
        return Distribution.workDir("file/" + m.substring(0, Math.min(24, m.length())));
    }

    private static Path filled(Path file, long size, byte value) throws Exception {
        Files.deleteIfExists(file);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] chunk = new byte[MIB];
            java.util.Arrays.fill(chunk, value);
            for (long at = 0; at < size; at += chunk.length) {
                f.write(chunk, 0, (int) Math.min(chunk.length, size - at));
            }
            f.getFD().sync();
        }
        return file;
    }

    private static long allocatedBlocks(Path f) throws Exception {
        return Long.parseLong(Tools.run(T, "stat", "-c", "%b", f.toString()).ok().out().trim());
    }

    private static String qemuMap(String target) throws Exception {
        return Tools.run(T, "qemu-img", "map", "-f", "raw", "--output=json", target).ok().out();
    }

    @Test
    public void sparseFileKeepsItsMapThroughTheServer() throws Exception {
        Path dir = dir();
        Path img = MemoryInteropIT.sparseImage(dir, 3);
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString())) {
            String local = qemuMap(img.toString());
            String remote = qemuMap(s.uri());
            assertTrue("the image has holes and data: " + local, local.contains("\"data\": false") && local.contains("\"data\": true"));
            assertEquals(local, remote);
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), s.uri()).ok();
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("can_multi_conn: true") && info.contains("can_fua: true")
                    && info.contains("can_trim: true") && info.contains("can_fast_zero: true") && info.contains("can_cache: true"));
        }
    }

    @Test
    public void trimShrinksTheFilesAllocatedBlocks() throws Exception {
        Path dir = dir();
        Path img = filled(dir.resolve("full.img"), 16 * MIB, (byte) 0x5a);
        long before = allocatedBlocks(img);
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString())) {
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "discard 4M 8M", s.uri()).ok();
            long after = allocatedBlocks(img);
            assertEquals("8 MiB of 512-byte blocks freed", before - 8 * MIB / 512, after);
            String read = Tools.run(T, "qemu-io", "-f", "raw", "-c", "read -P 0 4M 8M", "-c", "read -P 0x5a 0 4M",
                    "-c", "read -P 0x5a 12M 4M", s.uri()).ok().out();
            assertFalse(read, read.contains("Pattern verification failed"));
            String map = Tools.run(T, "nbdinfo", "--map", s.uri()).ok().out();
            List<String> lines = map.lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList();
            assertEquals(map, List.of("0 4194304 0 data", "4194304 8388608 3 hole,zero", "12582912 4194304 0 data"), lines);
        }
    }

    @Test
    public void writeZeroesPunchesOnlyWhenAllowedAndFastZeroWorks() throws Exception {
        Path dir = dir();
        Path img = filled(dir.resolve("full.img"), 8 * MIB, (byte) 1);
        long full = allocatedBlocks(img);
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString())) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "h.zero(1 << 20, 0, nbd.CMD_FLAG_NO_HOLE)",
                    "h.zero(1 << 20, 1 << 20, nbd.CMD_FLAG_FAST_ZERO)",
                    "print(h.pread(2 << 20, 0) == bytes(2 << 20), h.pread(1, 2 << 20) == b'\\x01')")).ok().out();
            assertEquals("True True", out.trim());
            assertEquals("NO_HOLE kept 1 MiB allocated, the fast zero punched 1 MiB", full - MIB / 512, allocatedBlocks(img));
        }
    }

    /**
     * Files on ext2 (no extents) can have holes punched but refuse ZERO_RANGE and allocation: a zero
     * that may not punch (NO_HOLE) falls back to the engine writing zeros, which must still honour
     * FUA, and as FAST_ZERO it is refused without touching the data. Needs a loop mount.
     */
    @Test
    public void onExt2ZeroWritesZerosKeepingFuaAndFastZeroIsRefused() throws Exception {
        Path dir = dir();
        Path fs = dir.resolve("ext2.img");
        Files.deleteIfExists(fs);
        try (RandomAccessFile f = new RandomAccessFile(fs.toFile(), "rw")) {
            f.setLength(64L * MIB);
        }
        Tools.run(T, "mke2fs", "-q", "-F", "-t", "ext2", fs.toString()).ok();
        Path mnt = dir.resolve("mnt");
        Files.createDirectories(mnt);
        Tools.Result mount = Tools.run(T, "mount", "-o", "loop", fs.toString(), mnt.toString());
        if (mount.exit() != 0) {
            System.out.println("SKIPPED " + name.getMethodName() + ": cannot loop-mount an ext2 image here (mount: "
                    + mount.err().trim() + "); that needs root or CAP_SYS_ADMIN");
            Assume.assumeTrue("mount failed: " + mount.err().trim(), false);
        }
        try {
            Path img = filled(mnt.resolve("disk.img"), 8 * MIB, (byte) 1);
            long blocks = allocatedBlocks(img);
            Path trace = dir.resolve("syncs.trace");
            try (ServerProcess s = tracingSyncs(dir, trace, "file", img.toString())) {
                String out = Tools.nbdsh(s.uri(), String.join("\n",
                        syncsOf(trace, img),
                        "import errno",
                        "try:",
                        "    h.zero(1 << 20, 1 << 20, nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE)",
                        "    print('zeroed fast')",
                        "except nbd.Error as e:",
                        "    print('refused', e.errnum == errno.ENOTSUP)",
                        "print(h.pread(1 << 20, 1 << 20) == b'\\x01' * (1 << 20))",
                        "before = syncs()",
                        "h.zero(1 << 20, 2 << 20, nbd.CMD_FLAG_NO_HOLE)",
                        "plain = syncs()",
                        "h.zero(2 << 20, 4 << 20, nbd.CMD_FLAG_FUA | nbd.CMD_FLAG_NO_HOLE)",
                        "print(plain - before, syncs() - plain)",
                        "print(h.pread(1 << 20, 2 << 20) == bytes(1 << 20), h.pread(2 << 20, 4 << 20) == bytes(2 << 20))",
                        "print(h.pread(1, 3 << 20) == b'\\x01')")).ok().out();
                assertEquals("FAST_ZERO refused with the data untouched; zeros written without FUA sync nothing, "
                        + "with FUA once; the zeros read back\n" + Files.readString(trace),
                        "refused True\nTrue\n0 1\nTrue True\nTrue", out.trim());
            }
            assertEquals("NO_HOLE: no block was freed", blocks, allocatedBlocks(img));
            byte[] b = new byte[MIB];
            try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
                f.seek(4 * MIB);
                f.readFully(b);
            }
            assertArrayEquals("the zeros are in the file", new byte[MIB], b);
        } finally {
            Tools.run(T, "umount", mnt.toString()).ok();
        }
    }

    /**
     * The server run under strace, which logs each fdatasync/fsync with the path of its descriptor:
     * the page cache survives the death of a process, so data read back after a SIGKILL alone cannot
     * tell whether flush synced anything.
     */
    private static ServerProcess tracingSyncs(Path dir, Path trace, String... args) throws Exception {
        Tools.require("strace");
        Files.deleteIfExists(trace);
        return ServerProcess.unixUnder(dir, List.of("strace", "-f", "--seccomp-bpf", "-qq", "-y", "-e", "trace=fdatasync,fsync",
                "-e", "signal=none", "-o", trace.toString()), args);
    }

    /** A Python function for nbdsh: how many successful syncs of {@code img} the trace holds so far. */
    private static String syncsOf(Path trace, Path img) throws Exception {
        return String.join("\n",
                "def syncs():",
                "    with open('" + trace + "') as t:",
                "        return sum(1 for l in t if 'sync(' in l and '<" + img.toRealPath() + ">)' in l and l.rstrip().endswith('= 0'))");
    }

    @Test
    public void flushedWritesSurviveKillingTheServer() throws Exception {
        Path dir = dir();
        Path img = filled(dir.resolve("disk.img"), 8 * MIB, (byte) 0);
        Path trace = dir.resolve("syncs.trace");
        ServerProcess s = tracingSyncs(dir, trace, "file", img.toString());
        try {
            String syncs = Tools.nbdsh(s.uri(), String.join("\n",
                    syncsOf(trace, img),
                    "h.pwrite(b'\\xab' * 65536, 1 << 20)",
                    "written = syncs()",
                    "h.pwrite(b'\\xcd' * 4096, 5 << 20, nbd.CMD_FLAG_FUA)",
                    "fua = syncs()",
                    "h.flush()",
                    "print(written, fua - written, syncs() - fua)")).ok().out();
            assertEquals("syncs of the image after: a plain write, a FUA write, a flush\n" + Files.readString(trace),
                    "0 1 1", syncs.trim());
            s.kill();
        } finally {
            s.close();
        }
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            byte[] a = new byte[65536];
            f.seek(MIB);
            f.readFully(a);
            byte[] expected = new byte[65536];
            java.util.Arrays.fill(expected, (byte) 0xab);
            assertArrayEquals(expected, a);
            byte[] b = new byte[4096];
            f.seek(5 * MIB);
            f.readFully(b);
            byte[] fua = new byte[4096];
            java.util.Arrays.fill(fua, (byte) 0xcd);
            assertArrayEquals(fua, b);
        }
    }

    @Test
    public void dirServesEachFileAsItsOwnExport() throws Exception {
        Path dir = dir();
        Path files = dir.resolve("images");
        Files.createDirectories(files);
        Random r = new Random(5);
        List<String> names = List.of("alpha.img", "beta.raw", "gamma.iso");
        for (int i = 0; i < names.size(); i++) {
            byte[] data = new byte[(i + 1) * MIB];
            r.nextBytes(data);
            Files.write(files.resolve(names.get(i)), data);
        }
        Files.createDirectories(files.resolve("not-an-export"));
        try (ServerProcess s = ServerProcess.unix(dir, "file", "dir=" + files)) {
            String list = Tools.run(T, "nbdinfo", "--list", s.uri()).ok().out();
            for (String n : names) {
                assertTrue(list, list.contains("export=\"" + n + "\""));
            }
            assertFalse(list, list.contains("not-an-export"));
            for (String n : names) {
                Path copy = dir.resolve("copy-" + n);
                Tools.run(T, "nbdcopy", s.uri(n), copy.toString()).ok();
                Tools.run(T, "cmp", files.resolve(n).toString(), copy.toString()).ok();
            }
            Tools.nbdsh(s.uri("beta.raw"), "h.pwrite(b'written through beta', 0)\nh.flush()").ok();
            assertEquals("written through beta", new String(Files.readAllBytes(files.resolve("beta.raw")), 0, 20, StandardCharsets.UTF_8));
            for (String refused : List.of("", "not-an-export", "missing.img")) {
                Tools.Result info = Tools.run(T, "nbdinfo", s.uri(refused));
                assertNotEquals("export '" + refused + "' must be refused: " + info.out(), 0, info.exit());
            }
            String escape = Tools.run(T, "nbdsh", "-c", String.join("\n",
                    "h.set_export_name('../images/alpha.img')",
                    "try:",
                    "    h.connect_unix('" + s.socket() + "')",
                    "    print('connected')",
                    "except nbd.Error as e:",
                    "    print('refused')")).ok().out();
            assertEquals("refused", escape.trim());
            assertTrue("the server keeps serving", s.isAlive());
            Tools.run(T, "nbdinfo", s.uri("alpha.img")).ok();
        }
    }

    @Test
    public void truncatedUnderneathGivesEioAndTheServerKeepsServing() throws Exception {
        Path dir = dir();
        Path img = filled(dir.resolve("disk.img"), 8 * MIB, (byte) 7);
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString())) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno, os",
                    "assert h.pread(1 << 20, 4 << 20) == b'\\x07' * (1 << 20)",   // lent from the mapped file
                    "os.truncate('" + img + "', 1 << 20)",
                    "for n in (4096, 1 << 20):",
                    "    try:",
                    "        h.pread(n, 4 << 20)",
                    "        print('read')",
                    "    except nbd.Error as e:",
                    "        print('error', e.errnum == errno.EIO)",
                    "print(h.pread(4, 0) == b'\\x07' * 4)")).ok().out();
            assertEquals("error True\nerror True\nTrue", out.trim());
            String size = Tools.run(T, "nbdinfo", "--size", s.uri()).ok().out();
            assertEquals("a new client sees the new size", "1048576", size.trim());
            Files.delete(img);
            Tools.Result gone = Tools.run(T, "nbdinfo", s.uri());
            assertNotEquals("a removed file refuses new clients", 0, gone.exit());
            assertTrue(s.isAlive());
        }
    }

    @Test
    public void readOnlyOptionAndUnwritableFilesAreServedReadOnly() throws Exception {
        Path dir = dir();
        Path img = filled(dir.resolve("disk.img"), MIB, (byte) 3);
        try (ServerProcess s = ServerProcess.unix(dir, "-r", "file", img.toString())) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno",
                    "print(h.is_read_only())",
                    "h.set_strict_mode(0)",
                    "try:",
                    "    h.pwrite(b'x', 0)",
                    "except nbd.Error as e:",
                    "    print('refused', e.errnum == errno.EPERM)")).ok().out();
            assertEquals("True\nrefused True", out.trim());
        }
        Tools.Result chattr = Tools.run(T, "chattr", "+i", img.toString());
        if (chattr.exit() != 0) {
            System.out.println("SKIPPED immutable-file part: chattr +i failed here: " + chattr.err().trim());
            return;
        }
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString())) {
            assertTrue(Tools.run(T, "nbdinfo", s.uri()).ok().out().contains("is_read_only: true"));
        } finally {
            Tools.run(T, "chattr", "-i", img.toString()).ok();
        }
    }

    @Test
    public void cacheNoneKeepsTheDataOutOfThePageCache() throws Exception {
        Path dir = dir();
        Path src = MemoryInteropIT.sparseImage(dir, 4);
        Path img = dir.resolve("target.img");
        Files.deleteIfExists(img);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(Files.size(src));
        }
        boolean direct = directIoWorksIn(dir);
        System.out.println(name.getMethodName() + ": " + (direct ? "O_DIRECT works here: expecting it on the server's descriptor"
                : "the file system refuses O_DIRECT: expecting the page cache fallback"));
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString(), "cache=none", "fadvise=sequential")) {
            List<Integer> flags = openFlags(s, img);
            assertFalse("a connected client has the image open: " + flags, flags.isEmpty());
            assertEquals("O_DIRECT on one of the image's descriptors (octal flags " + flags.stream().map(Integer::toOctalString).toList() + ")",
                    direct, flags.stream().anyMatch(f -> (f & O_DIRECT) != 0));
            Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", src.toString(), s.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", src.toString(), s.uri()).ok();
            // a client that ignores block sizes sends unaligned requests: they take the page cache and leave it
            String out = Tools.run(T, "nbdsh", "-c", String.join("\n",
                    "h.set_request_block_size(False)",
                    "h.connect_uri('" + s.uri() + "')",
                    "h.set_strict_mode(0)",
                    "h.pwrite(b'odd' * 1000, 12345)",
                    "print(h.pread(3000, 12345) == b'odd' * 1000)")).ok().out();
            assertEquals("True", out.trim());
            long resident = residentBytes(img);
            assertTrue("pages left in the page cache: " + resident, resident <= 64 * 1024);
        }
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "r")) {
            byte[] b = new byte[3000];
            f.seek(12345);
            f.readFully(b);
            assertEquals("odd".repeat(1000), new String(b, StandardCharsets.US_ASCII));
        }
    }

    private static final int O_DIRECT = System.getProperty("os.arch").equals("aarch64") ? 0200000 : 040000;

    /** Whether the file system under {@code dir} lets a file be opened with O_DIRECT. */
    private static boolean directIoWorksIn(Path dir) throws Exception {
        Path probe = dir.resolve("direct.probe");
        Files.write(probe, new byte[4096]);
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(probe, java.nio.file.StandardOpenOption.READ,
                com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            return true;
        } catch (java.io.IOException refused) {
            return false;
        } finally {
            Files.delete(probe);
        }
    }

    /** The open flags (/proc/PID/fdinfo) of each of the server's descriptors of {@code file}, read while a client is connected. */
    private static List<Integer> openFlags(ServerProcess s, Path file) throws Exception {
        String proc = "/proc/" + s.pid();
        String out = Tools.nbdsh(s.uri(), String.join("\n",
                "import os",
                "for fd in os.listdir('" + proc + "/fd'):",
                "    try:",
                "        if os.readlink('" + proc + "/fd/' + fd) == '" + file.toRealPath() + "':",
                "            with open('" + proc + "/fdinfo/' + fd) as i:",
                "                print(next(l.split()[1] for l in i if l.startswith('flags:')))",
                "    except OSError:",
                "        pass")).ok().out();
        return out.lines().map(l -> Integer.parseInt(l.trim(), 8)).toList();
    }

    private static long residentBytes(Path f) throws Exception {
        String out = Tools.run(T, "fincore", "--bytes", "--noheadings", "--output", "RES", f.toString()).ok().out();
        return Long.parseLong(out.trim());
    }

    @Test
    public void fioVerifiedRandomWritesWithSeveralConnections() throws Exception {
        Path dir = dir();
        Path img = dir.resolve("fio.img");
        Files.deleteIfExists(img);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(256L * MIB);
        }
        try (ServerProcess s = ServerProcess.unix(dir, "file", img.toString())) {
            Tools.Result r = Tools.run(Duration.ofSeconds(180), Map.of(), List.of("fio", "--name=verify", "--ioengine=nbd",
                    "--uri=" + s.uri(), "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=32M", "--numjobs=2",
                    "--offset_increment=64M", "--verify=crc32c", "--do_verify=1", "--group_reporting",
                    "--output-format=terse", "--terse-version=3"));
            r.ok();
            String[] f = r.out().lines().filter(l -> l.contains(";")).findFirst().orElseThrow().split(";");
            assertEquals("fio reported errors: " + r.out(), "0", f[4]);
            assertNotEquals(r.out(), "0", f[48]);
            Path back = dir.resolve("back.img");
            Tools.run(T, "nbdcopy", "--connections=4", s.uri(), back.toString()).ok();
            Tools.run(T, "cmp", img.toString(), back.toString()).ok();
        }
    }

    @Test
    public void blockDeviceIsServedWithItsSize() throws Exception {
        Path dir = dir();
        Path backing = filled(dir.resolve("loop-backing.img"), 32 * MIB, (byte) 0);
        Tools.Result attach = Tools.run(T, "losetup", "--find", "--show", backing.toString());
        if (attach.exit() != 0) {
            System.out.println("SKIPPED blockDeviceIsServedWithItsSize: no loop device here (losetup: "
                    + attach.err().trim() + "); loop devices need root or CAP_SYS_ADMIN");
            Assume.assumeTrue("losetup failed: " + attach.err().trim(), false);
        }
        String loop = attach.out().trim();
        try (ServerProcess s = ServerProcess.unix(dir, "file", loop)) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("export-size: 33554432"));
            assertTrue(info, info.contains("block_size_preferred: 512") || info.contains("block_size_preferred: 4096"));
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x42 1M 1M", "-c", "flush", "-c", "write -z 3M 1M",
                    s.uri()).ok();
            String read = Tools.run(T, "qemu-io", "-f", "raw", "-c", "read -P 0x42 1M 1M", "-c", "read -P 0 3M 1M",
                    s.uri()).ok().out();
            assertFalse(read, read.contains("Pattern verification failed"));
            // a device may write zeros itself for ZERO_RANGE: a fast zero that may not punch is refused at once
            String fast = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno",
                    "try:",
                    "    h.zero(1 << 20, 1 << 20, nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE)",
                    "    print('zeroed')",
                    "except nbd.Error as e:",
                    "    print('refused', e.errnum == errno.ENOTSUP)",
                    "h.zero(1 << 20, 1 << 20, nbd.CMD_FLAG_NO_HOLE)",
                    "print(h.pread(1 << 20, 1 << 20) == bytes(1 << 20))")).ok().out();
            assertEquals("refused True\nTrue", fast.trim());
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x42 1M 1M", s.uri()).ok();
        } finally {
            Tools.run(T, "losetup", "-d", loop).ok();
        }
        try (RandomAccessFile f = new RandomAccessFile(backing.toFile(), "r")) {
            byte[] b = new byte[MIB];
            f.seek(MIB);
            f.readFully(b);
            byte[] expected = new byte[MIB];
            java.util.Arrays.fill(expected, (byte) 0x42);
            assertArrayEquals("the writes reached the device", expected, b);
        }
    }

    @Test
    public void badCommandLinesAreOneLineAndExitOne() throws Exception {
        Path dir = dir();
        Path img = filled(dir.resolve("ok.img"), MIB, (byte) 0);
        Path unreadable;
        if ("root".equals(System.getProperty("user.name"))) {
            // root opens any file, but procfs holds root to the owner bits: this one is write-only
            unreadable = Path.of("/proc/sys/vm/drop_caches");
        } else {
            unreadable = filled(dir.resolve("secret.img"), MIB, (byte) 0);
            Files.setPosixFilePermissions(unreadable, java.util.Set.of());
        }
        List<List<String>> cases = List.of(
                List.of("file", unreadable.toString()),
                List.of("file", dir.resolve("missing.img").toString()),
                List.of("file", dir.toString()),
                List.of("file", "file=" + img, "dir=" + dir),
                List.of("file"),
                List.of("file", "dir=" + img),
                List.of("file", img.toString(), "cache=sometimes"));
        List<String> expected = List.of(unreadable + ": permission denied", "no such file or directory", "is a directory", "not both", "give file=PATH or dir=DIRECTORY",
                "is not a directory", "cache: 'sometimes' is not one of default|none");
        for (int i = 0; i < cases.size(); i++) {
            List<String> cmd = new ArrayList<>(List.of(ServerProcess.launcher().toString(), "-f", "-U", dir.resolve("bad.sock").toString()));
            cmd.addAll(cases.get(i));
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            assertTrue("exits: " + cmd, p.waitFor(60, TimeUnit.SECONDS));
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertEquals(cmd + ": " + err, 1, p.exitValue());
            assertEquals(cmd + ": " + err, 1, err.lines().count());
            assertTrue(cmd + ": " + err, err.startsWith("nbd-osgi: file: ") && err.contains(expected.get(i)));
        }
    }
}
