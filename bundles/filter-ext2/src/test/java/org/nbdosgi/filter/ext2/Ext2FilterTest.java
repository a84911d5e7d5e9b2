package org.nbdosgi.filter.ext2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.testkit.Ext2Images;

/** The filter over real images made by mke2fs, through the real libext2fs. */
class Ext2FilterTest {
    @TempDir
    Path dir;

    private final AtomicLong connections = new AtomicLong();

    /** ext2 and ext3 map blocks indirectly; ext4 with 1 KiB blocks has an extent tree deeper than the inode. */
    @ParameterizedTest
    @ValueSource(strings = {"ext2", "ext3", "ext4", "ext4-4k"})
    void servesTheBytesOfTheInnerFile(String type) throws Exception {
        Path src = Ext2Images.source(dir, 1);
        Path image = image(type, src);
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            Handle h = connect(instance, "");
            assertEquals(Ext2Images.DISK_SIZE, h.size());
            assertArrayEquals(expected, readAll(h, 1 << 20));
            assertArrayEquals(expected, readAll(h, 123_457), "reads that start and end inside blocks");
            h.close();
            instance.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2", "ext4", "ext4-4k"})
    void blockStatusShowsTheInnerFilesHolesNotTheImages(String type) throws Exception {
        Path src = Ext2Images.source(dir, 2);
        Path image = image(type, src);
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            Handle h = connect(instance, "");
            assertTrue(h.canExtents());
            int bs = Ext2Images.blockSize(image);
            boolean[] data = dataBlocks(bs);
            long offset = 0;
            while (offset < h.size()) {
                Extents e = new Extents(offset, h.size());
                h.extents(offset, h.size() - offset, 0, e);
                assertTrue(e.count() > 0);
                for (int i = 0; i < e.count(); i++) {
                    for (long at = e.offset(i); at < e.offset(i) + e.length(i); at += bs) {
                        boolean isData = e.type(i) == 0;
                        assertEquals(data[(int) (at / bs)], isData, "block at " + at + " in " + e);
                        if (!isData) {
                            assertEquals(Extents.HOLE | Extents.ZERO, e.type(i));
                        }
                    }
                }
                offset = e.covered();
            }
            Extents one = new Extents(2 << 20, h.size());
            h.extents(2 << 20, 1 << 20, org.nbdosgi.api.Flags.REQ_ONE, one);
            assertEquals(1, one.count());
            h.close();
            instance.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ext2", "ext3", "ext4", "ext4-4k"})
    void writesLandInTheFileAndTheFilesystemStaysClean(String type) throws Exception {
        Path src = Ext2Images.source(dir, 3);
        Path image = image(type, src);
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        Random random = new Random(3);
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            Handle h = connect(instance, "");
            assertTrue(h.canWrite());
            write(h, expected, random, 1 << 20, 65_536);                 // over data
            write(h, expected, random, (8 << 20) + 1000, 3 << 20);        // inside a hole: allocation
            write(h, expected, random, (5 << 20) + 12_000, 1 << 20);      // data, then the hole after it
            write(h, expected, random, Ext2Images.DISK_SIZE - 777, 777);      // the last bytes
            write(h, expected, random, 300_100, 10);                      // a few bytes in a hole block
            h.flush(0);
            assertNull(Ext2Images.fsckProblems(image), "clean after a flush, while still open");
            assertArrayEquals(expected, readAll(h, 1 << 20));
            h.close();
            instance.close();
        }
        assertArrayEquals(expected, Ext2Images.dump(image, "/disk.raw", dir));
        assertNull(Ext2Images.fsckProblems(image));
    }

    @Test
    void unwrittenExtentsReadAsZerosEvenOverOldDataAndTakeWrites() throws Exception {
        Path src = Ext2Images.source(dir, 4);
        Path image = Ext2Images.make(dir, "ext4", src, "64M", "-b", "4096");
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        // blocks 2048..2303 (8 MiB .. 9 MiB) lie in a hole: allocate them unwritten, over old garbage
        Ext2Images.debugfs(image, "fallocate /disk.raw 2048 2303");
        long physical = physicalBlock(image, 2048);
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] garbage = new byte[256 * 4096];
            Arrays.fill(garbage, (byte) 0x5A);
            f.seek(physical * 4096);
            f.write(garbage);
        }
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            Handle h = connect(instance, "");
            assertArrayEquals(new byte[1 << 20], read(h, 8 << 20, 1 << 20), "unwritten blocks read as zeros");
            Extents e = new Extents(8 << 20, h.size());
            h.extents(8 << 20, 1 << 20, 0, e);
            assertEquals(Extents.ZERO, e.type(0), "allocated, not a hole, but zero: " + e);
            assertEquals(1 << 20, e.length(0));
            write(h, expected, new Random(4), (8 << 20) + 4096 + 100, 5000);
            assertArrayEquals(Arrays.copyOfRange(expected, 8 << 20, 9 << 20), read(h, 8 << 20, 1 << 20),
                    "written bytes, and zeros around them, not the old garbage");
            h.flush(0);
            h.close();
            instance.close();
        }
        assertArrayEquals(expected, Ext2Images.dump(image, "/disk.raw", dir));
        assertNull(Ext2Images.fsckProblems(image));
    }

    @Test
    void manyConnectionsOnOneFilesystemRunInParallel() throws Exception {
        Path src = Ext2Images.source(dir, 5);
        Path image = Ext2Images.make(dir, "ext4", src, "96M");
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        try (ImageLayer layer = new ImageLayer(image, true);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            int clients = 8;
            int region = (int) (Ext2Images.DISK_SIZE / clients);
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                Handle h = connect(instance, "");
                done.add(pool.submit(() -> {
                    Random random = new Random(client);
                    // even clients write their region (holes and data), odd ones read theirs over and over
                    for (int round = 0; round < 4; round++) {
                        for (int at = 0; at < region; at += 256 * 1024) {
                            long offset = (long) client * region + at;
                            if (client % 2 == 0) {
                                write(h, expected, random, offset, 256 * 1024);   // regions are disjoint
                            } else {
                                assertArrayEquals(Arrays.copyOfRange(expected, (int) offset, (int) offset + 256 * 1024),
                                        read(h, offset, 256 * 1024));
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            Handle h = connect(instance, "");
            assertArrayEquals(expected, readAll(h, 1 << 20));
            h.flush(0);
            instance.close();
        }
        assertArrayEquals(expected, Ext2Images.dump(image, "/disk.raw", dir));
        assertNull(Ext2Images.fsckProblems(image));
    }

    /**
     * Reads of several connections are inside the layer below at the same time: the filter holds
     * its lock only for libext2fs, never around the data transfer.
     */
    @ParameterizedTest
    @ValueSource(strings = {"ext2", "ext4"})
    void readsOfManyConnectionsReachTheLayerBelowTogether(String type) throws Exception {
        Path src = Ext2Images.source(dir, 12);
        Path image = image(type, src);
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        int clients = 6;
        int part = 128 * 1024;
        try (ImageLayer layer = new ImageLayer(image, true);
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            List<Handle> handles = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                handles.add(connect(instance, ""));
                read(handles.get(c), (1 << 20) + (long) c * part, part);   // learns the block map (ext2: under the lock)
            }
            layer.slowReads(200);
            CyclicBarrier together = new CyclicBarrier(clients);
            List<Future<byte[]>> reads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                Handle h = handles.get(c);
                long offset = (1 << 20) + (long) c * part;
                reads.add(pool.submit(() -> {
                    together.await();
                    return read(h, offset, part);
                }));
            }
            for (int c = 0; c < clients; c++) {
                int offset = (1 << 20) + c * part;
                assertArrayEquals(Arrays.copyOfRange(expected, offset, offset + part), reads.get(c).get());
            }
            assertEquals(clients, layer.mostReadsInside(), "every connection's read was inside the layer below at once");
            instance.close();
        }
    }

    /**
     * {@code -r} alone makes the filesystem read-only, even over a layer that would take writes:
     * nothing is written below, and writes are refused.
     */
    @Test
    void aReadOnlyExportOpensTheFilesystemReadOnlyOverAWritableLayer() throws Exception {
        Path src = Ext2Images.source(dir, 13);
        Path image = Ext2Images.make(dir, "ext4", src, "64M");
        byte[] before = sha256(image);
        try (ImageLayer layer = new ImageLayer(image, true, false)) {
            FilterInstance instance = start(layer, "/disk.raw", true);
            Handle h = connect(instance, "");                      // a client that does not ask for read-only
            assertFalse(h.canWrite(), "the filter offers no writes");
            for (long offset : new long[] {1 << 20, 12 << 20}) {   // over data, and into a hole
                NbdException e = assertThrows(NbdException.class, () -> h.write(ByteBuffer.allocateDirect(4096), offset, 0));
                assertEquals(NbdError.EPERM, e.error());
            }
            h.flush(0);
            assertArrayEquals(Files.readAllBytes(src.resolve("disk.raw")), readAll(h, 1 << 20));
            h.close();
            instance.close();
            assertEquals(0, layer.writes.get(), "no write reached the layer below");
        }
        assertArrayEquals(before, sha256(image), "not one byte of the image changed");
    }

    @Test
    void exportnameModeServesTheFileEachClientNames() throws Exception {
        Path src = Ext2Images.source(dir, 6);
        Path image = Ext2Images.make(dir, "ext4", src, "64M");
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "exportname", false);
            assertEquals(List.of(), instance.listExports(false), "nothing is advertised");
            Handle disk = connect(instance, "/disk.raw");
            Handle other = connect(instance, "//./other.raw");
            Handle relative = connect(instance, "other.raw");
            assertEquals("/other.raw inside an ext2/3/4 filesystem", relative.description(), "nbdkit prepends / to such a name");
            relative.close();
            assertEquals("/other.raw inside an ext2/3/4 filesystem", other.description());
            assertEquals(Ext2Images.DISK_SIZE, disk.size());
            assertEquals(1 << 20, other.size());
            assertArrayEquals(Files.readAllBytes(src.resolve("other.raw")), readAll(other, 1 << 20));
            assertArrayEquals(Files.readAllBytes(src.resolve("disk.raw")), readAll(disk, 1 << 20));

            assertRefused(instance, "", "no file given");
            assertRefused(instance, "/dir/../disk.raw", "'..' is not allowed");
            assertRefused(instance, "/missing.raw", "/missing.raw: no such file in the filesystem");
            assertRefused(instance, "/dir", "/dir: not a regular file");
            assertRefused(instance, "/link.raw", "/link.raw: not a regular file");
            assertRefused(instance, "/disk.raw/x", "not a directory");

            assertArrayEquals(Files.readAllBytes(src.resolve("other.raw")), readAll(other, 1 << 20),
                    "refused clients disturb nobody");
            disk.close();
            other.close();
            instance.close();
        }
    }

    @Test
    void pathProblemsStopTheExportWithOneClearLine() throws Exception {
        Path src = Ext2Images.source(dir, 7);
        Path image = Ext2Images.make(dir, "ext4", src, "64M");
        try (ImageLayer layer = new ImageLayer(image, true)) {
            assertCreateFails(layer, "/nope/disk.raw", "ext2file: /nope/disk.raw: no such file in the filesystem");
            assertCreateFails(layer, "/dir", "ext2file: /dir: not a regular file");
            assertCreateFails(layer, "disk.raw", "ext2file: 'disk.raw': the path must be absolute (start with /)");
            assertCreateFails(layer, "/../disk.raw", "ext2file: '/../disk.raw': '..' is not allowed in the path");
        }
        assertNull(Ext2Images.fsckProblems(image), "failed starts leave the filesystem alone");
    }

    @Test
    void aBrokenImageGivesLibext2fsReason() throws Exception {
        Path image = dir.resolve("zeros.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        try (ImageLayer layer = new ImageLayer(image, true)) {
            assertCreateFails(layer, "/disk.raw", "cannot open the filesystem: Bad magic number in super-block");
        }
        Path tiny = dir.resolve("tiny.img");
        Files.write(tiny, new byte[512]);
        try (ImageLayer layer = new ImageLayer(tiny, true)) {
            ConfigException e = assertThrows(ConfigException.class, () -> start(layer, "/disk.raw", false));
            assertTrue(e.getMessage().startsWith("cannot open the filesystem: "), e.getMessage());
        }
    }

    @Test
    void readOnlyExportsOpenTheFilesystemReadOnly() throws Exception {
        Path src = Ext2Images.source(dir, 8);
        Path image = Ext2Images.make(dir, "ext4", src, "64M");
        byte[] before = sha256(image);
        try (ImageLayer layer = new ImageLayer(image, false)) {
            FilterInstance instance = start(layer, "/disk.raw", true);
            Handle h = connect(instance, "");
            assertFalse(h.canWrite());
            assertArrayEquals(Files.readAllBytes(src.resolve("disk.raw")), readAll(h, 1 << 20));
            h.flush(0);
            h.close();
            instance.close();
            assertTrue(layer.opened.stream().allMatch(c -> c.exportName().isEmpty()), "the layer below serves its default export");
        }
        assertArrayEquals(before, sha256(image), "not one byte of the image changed");
    }

    @Test
    void aJournalThatNeedsRecoveryIsOnlyServedReadOnly() throws Exception {
        Path src = Ext2Images.source(dir, 9);
        Path image = Ext2Images.make(dir, "ext4", src, "64M");
        Ext2Images.debugfs(image, "feature needs_recovery");
        try (ImageLayer layer = new ImageLayer(image, true)) {
            assertCreateFails(layer, "/disk.raw", "journal needs recovery");
            FilterInstance instance = start(layer, "/disk.raw", true);
            assertEquals(Ext2Images.DISK_SIZE, connect(instance, "").size());
            instance.close();
        }
    }

    @Test
    void aFullFilesystemIsEnospcAndStaysConsistent() throws Exception {
        Path src = Ext2Images.source(dir, 11);
        Path image = Ext2Images.make(dir, "ext4", src, "16M");        // 32 MiB of file, about 11 MiB of it data
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            Handle h = connect(instance, "");
            ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
            NbdException e = assertThrows(NbdException.class, () -> {
                for (long at = 23L << 20; at < 31L << 20; at += 1 << 20) {
                    h.write(chunk.clear(), at, 0);
                }
            });
            assertEquals(NbdError.ENOSPC, e.error());
            assertTrue(e.getMessage().startsWith("allocating blocks: "), e.getMessage());
            h.flush(0);
            h.close();
            instance.close();
        }
        assertNull(Ext2Images.fsckProblems(image));
    }

    @Test
    void errorsFromTheLayerBelowReachTheClientWithTheirNbdError() throws Exception {
        Path src = Ext2Images.source(dir, 10);
        Path image = Ext2Images.make(dir, "ext4", src, "64M", "-b", "4096");
        try (ImageLayer layer = new ImageLayer(image, true)) {
            FilterInstance instance = start(layer, "/disk.raw", false);
            Handle h = connect(instance, "");
            layer.close();                                          // the storage goes away under the export
            NbdException e = assertThrows(NbdException.class, () -> h.write(ByteBuffer.allocateDirect(4096), 8 << 20, 0));
            assertEquals(NbdError.EIO, e.error());
            assertTrue(e.getMessage().contains("ClosedChannelException"), "names the cause: " + e.getMessage());
        }
    }

    // --- helpers

    private Path image(String type, Path src) throws Exception {
        return type.equals("ext4-4k") ? Ext2Images.make(dir, "ext4", src, "64M", "-b", "4096") : Ext2Images.make(dir, type, src, "64M");
    }

    private static FilterInstance start(ImageLayer layer, String ext2file, boolean readOnly) throws ConfigException {
        return new Ext2Filter().create(new Config(Map.of("ext2file", ext2file)), new ExportContext("", readOnly), layer);
    }

    private Handle connect(FilterInstance instance, String name) throws IOException {
        return instance.open(new ClientContext(name, false, "test", connections.incrementAndGet()));
    }

    private static void assertCreateFails(ImageLayer layer, String ext2file, String message) {
        ConfigException e = assertThrows(ConfigException.class, () -> start(layer, ext2file, false));
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    private void assertRefused(FilterInstance instance, String name, String message) {
        NbdException e = assertThrows(NbdException.class, () -> connect(instance, name));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    private static byte[] read(Handle h, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(length + 16).position(7).limit(7 + length);
        h.read(b, offset, 0);
        assertEquals(7, b.position(), "position left alone");
        byte[] out = new byte[length];
        b.get(7, out);
        return out;
    }

    private static byte[] readAll(Handle h, int chunk) throws IOException {
        byte[] out = new byte[(int) h.size()];
        for (long at = 0; at < out.length; at += chunk) {
            int n = (int) Math.min(chunk, out.length - at);
            System.arraycopy(read(h, at, n), 0, out, (int) at, n);
        }
        return out;
    }

    /** Writes random bytes through the handle and into {@code expected}. */
    private static void write(Handle h, byte[] expected, Random random, long offset, int length) throws IOException {
        byte[] data = new byte[length];
        random.nextBytes(data);
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        b.put(0, data);
        h.write(b, offset, 0);
        System.arraycopy(data, 0, expected, (int) offset, length);
    }

    /** Which blocks of disk.raw hold data: those touching a random stretch. */
    private static boolean[] dataBlocks(int bs) {
        boolean[] data = new boolean[(int) (Ext2Images.DISK_SIZE / bs)];
        for (long[] d : Ext2Images.DATA) {
            for (long b = d[0] / bs; b * bs < d[0] + d[1]; b++) {
                data[(int) b] = true;
            }
        }
        return data;
    }

    private static long physicalBlock(Path image, long logical) throws Exception {
        String out = Ext2Images.query(image, "bmap /disk.raw " + logical);
        return Long.parseLong(out.lines().filter(l -> l.matches("\\d+( \\(uninit\\))?")).findFirst().orElseThrow()
                .split(" ")[0]);
    }

    private static byte[] sha256(Path file) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    }
}
