package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.junit.Assume.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import java.time.Duration;
import org.junit.Test;
import org.nbdosgi.testkit.Ext2Images;

/**
 * The ext2 filter through the assembled {@code bin/nbd-osgi}, as a user runs it. Start-up errors
 * need no image on the layer below (a fresh memory disk holds no filesystem); the tests that serve
 * an image need the {@code file} plugin in the distribution and are skipped while it is absent.
 */
public class Ext2InteropIT {
    private static final Duration T = Duration.ofSeconds(120);

    /** Short, so that the socket path stays within the Unix limit of 108 bytes. */
    private static Path dir(String test) throws Exception {
        return Distribution.workDir("Ext2InteropIT/" + test);
    }

    @Test
    public void noFilesystemBelowStopsTheCommandLineWithOneLine() throws Exception {
        Exit e = runToExit(dir("nofs"), "--filter=ext2", "memory", "64M", "ext2file=/disk.raw");
        assertEquals(e.output, 1, e.status);
        assertEquals("nbd-osgi: ext2: cannot open the filesystem: Bad magic number in super-block", e.lastLine());
        assertFalse("no stack trace:\n" + e.output, e.output.contains("\tat "));
    }

    @Test
    public void aRelativePathStopsTheCommandLineWithOneLine() throws Exception {
        Exit e = runToExit(dir("relative"), "--filter=ext2", "memory", "64M", "ext2file=disks/disk.raw");
        assertEquals(e.output, 1, e.status);
        assertEquals("nbd-osgi: ext2: ext2file: 'disks/disk.raw': the path must be absolute (start with /)", e.lastLine());
    }

    @Test
    public void servesAFileInsideAnImageFileToNbdcopyQemuImgAndQemuIo() throws Exception {
        assumeFilePlugin();
        Path dir = dir("serve");
        Path src = Ext2Images.source(dir, 11);
        Path image = Ext2Images.make(dir, "ext4", src);
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ext2", "file", image.toString(), "ext2file=/disk.raw")) {
            Path copy = dir.resolve("nbdcopy.raw");
            Tools.run(T, "nbdcopy", s.uri(), copy.toString()).ok();
            assertEquals("nbdcopy's copy differs at", -1, Files.mismatch(src.resolve("disk.raw"), copy));
            Path converted = dir.resolve("qemu.raw");
            Tools.run(T, "qemu-img", "convert", "-f", "raw", "-O", "raw", s.uri(), converted.toString()).ok();
            assertEquals("qemu-img's copy differs at", -1, Files.mismatch(src.resolve("disk.raw"), converted));

            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 8M 3M", s.uri()).ok();
            Arrays.fill(expected, 8 << 20, 11 << 20, (byte) 0x5a);
            // no flush: stopping the server must close the filesystem cleanly
            Tools.nbdsh(s.uri(), "h.pwrite(b'\\xa5' * 4096, 12 * 1048576)").ok();
            Arrays.fill(expected, 12 << 20, (12 << 20) + 4096, (byte) 0xa5);   // in a hole: allocates
            s.stop();
        }
        assertArrayEquals(expected, Ext2Images.dump(image, "/disk.raw", dir));
        Ext2Images.assertClean(image);
    }

    /**
     * What nbdinfo sees, and what reaches the layer below (the stats filter under ext2): FUA is done
     * by a flush, zeroing by writes, and no trim is offered.
     */
    @Test
    public void capabilitiesAsRealClientsSeeThemFuaIsAFlushBelowAndZeroAWrite() throws Exception {
        assumeFilePlugin();
        Path dir = dir("caps");
        Path src = Ext2Images.source(dir, 13);
        Path image = Ext2Images.make(dir, "ext4", src);
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ext2", "--filter=stats", "file", image.toString(),
                "ext2file=/disk.raw")) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            for (String expected : List.of("export-size: " + Ext2Images.DISK_SIZE, "description: /disk.raw inside an ext2/3/4 filesystem",
                    "is_read_only: false", "can_flush: true", "can_fua: true", "can_zero: true", "can_trim: false",
                    "can_multi_conn: false", "can_fast_zero: false")) {
                assertTrue(expected + " in:\n" + info, info.lines().anyMatch(l -> l.trim().startsWith(expected)));
            }
            Tools.nbdsh(s.uri(), String.join("\n",
                    "h.pwrite(b'\\x5a' * 4096, 1048576, nbd.CMD_FLAG_FUA)",
                    "h.zero(65536, 2 * 1048576)",
                    "assert h.pread(65536, 2 * 1048576) == bytes(65536)")).ok();
            assertEquals(0, s.stop());
            List<String> below = s.log().lines().filter(l -> l.matches("[a-z]+: \\d+ ops.*")).toList();
            assertTrue("the FUA write reached the layer below as a flush: " + below, below.stream().anyMatch(l -> l.startsWith("flush: ")));
            assertTrue("zeroing reached it as writes: " + below, below.stream().anyMatch(l -> l.startsWith("write: ")));
            assertTrue(below.toString(), below.stream().noneMatch(l -> l.startsWith("zero: ") || l.startsWith("trim: ")));
        }
    }

    /**
     * Eight clients read at once through ext2 over a layer that takes 250 ms per read: together
     * they take about one delay, not eight, since only libext2fs calls are serialized.
     */
    @Test
    public void readsOfManyClientsOverASlowLayerRunInParallel() throws Exception {
        assumeFilePlugin();
        Path dir = dir("parallel");
        Path src = Ext2Images.source(dir, 14);
        Path image = Ext2Images.make(dir, "ext4", src);
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        int clients = 8;
        long delayMillis = 250;
        int part = 64 * 1024;
        // the first --filter is outermost: ext2 reads its image through delay, which sits on file
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ext2", "--filter=delay", "file", image.toString(),
                "ext2file=/disk.raw", "rdelay=" + delayMillis + "ms");
             ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<NbdClient> connected = new ArrayList<>();
            try {
                for (int c = 0; c < clients; c++) {
                    NbdClient client = NbdClient.unix(s.socket());
                    connected.add(client);
                    client.go("");
                }
                CyclicBarrier start = new CyclicBarrier(clients + 1);
                List<Future<byte[]>> reads = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    NbdClient client = connected.get(c);
                    long offset = (1 << 20) + (long) c * part;
                    reads.add(pool.submit(() -> {
                        start.await();
                        return client.read(offset, part);
                    }));
                }
                start.await();
                long began = System.nanoTime();
                for (int c = 0; c < clients; c++) {
                    int offset = (1 << 20) + c * part;
                    assertArrayEquals(Arrays.copyOfRange(expected, offset, offset + part), reads.get(c).get());
                }
                long tookMillis = (System.nanoTime() - began) / 1_000_000;
                assertTrue("one read at a time would take " + clients * delayMillis + " ms; it took " + tookMillis + " ms",
                        tookMillis < clients * delayMillis / 2);
            } finally {
                for (NbdClient c : connected) {
                    c.close();
                }
            }
        }
    }

    @Test
    public void exportnameServesTwoFilesToTwoClientsAtOnce() throws Exception {
        assumeFilePlugin();
        Path dir = dir("byname");
        Path src = Ext2Images.source(dir, 12);
        Path image = Ext2Images.make(dir, "ext3", src);
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ext2", "file", image.toString(), "ext2file=exportname");
             NbdClient disk = NbdClient.unix(s.socket()); NbdClient other = NbdClient.unix(s.socket())) {
            disk.go("/disk.raw");
            other.go("/other.raw");
            byte[] diskBytes = Files.readAllBytes(src.resolve("disk.raw"));
            assertArrayEquals(Arrays.copyOfRange(diskBytes, 1 << 20, 3 << 20), disk.read(1 << 20, 2 << 20));
            assertArrayEquals(Files.readAllBytes(src.resolve("other.raw")), other.read(0, 1 << 20));
            // issue 13 item 15: nbdkit prepends / to a name without one; so do we
            Tools.Result relative = Tools.run(T, "nbdinfo", "--size", "nbd+unix:///other.raw?socket=" + s.socket()).ok();
            assertEquals("1048576\n", relative.out());
            assertNotEquals("nbdinfo is refused", 0,
                    Tools.run(T, "nbdinfo", "nbd+unix:////dir/../disk.raw?socket=" + s.socket()).exit());
            try (NbdClient refused = NbdClient.unix(s.socket())) {
                refused.go("/dir/../disk.raw");
                fail("'..' should be refused");
            } catch (java.io.IOException e) {
                assertTrue(e.getMessage(), e.getMessage().endsWith("export '/dir/../disk.raw' cannot be opened: Invalid argument"));
            }
            assertArrayEquals(Files.readAllBytes(src.resolve("other.raw")), other.read(0, 1 << 20));
        }
    }

    private static void assumeFilePlugin() {
        assumeTrue("the file plugin is not in this distribution", Files.exists(Distribution.home().resolve("bundles/plugin-file.jar")));
    }

    private record Exit(int status, String output) {
        String lastLine() {
            List<String> lines = output.lines().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
        }
    }

    /** {@code nbd-osgi -f -U DIR/nbd.sock ARGS}, expected to exit by itself. */
    private static Exit runToExit(Path dir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ServerProcess.launcher().toString(), "-f", "-U", dir.resolve("nbd.sock").toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("nbd-osgi did not exit:\n" + out);
        }
        return new Exit(p.exitValue(), out);
    }
}
