package org.nbdosgi.plugin.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.libc.LibC;

/** The handle on real files in a temporary directory (ext4 or whatever /tmp is) and on tmpfs. */
class FileHandleTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    /** Each way of doing I/O the options select. */
    enum Mode {
        CHANNEL(new FileOptions(FileOptions.Cache.DEFAULT, FileOptions.Advice.NORMAL)),
        NATIVE_ADVISED(new FileOptions(FileOptions.Cache.DEFAULT, FileOptions.Advice.RANDOM)),
        UNCACHED(new FileOptions(FileOptions.Cache.NONE, FileOptions.Advice.SEQUENTIAL));

        final FileOptions options;

        Mode(FileOptions options) {
            this.options = options;
        }
    }

    static FileHandle open(Path file, FileOptions options) throws IOException {
        return FileHandle.open(FileTarget.inspect(file), options, false, new Fallbacks(file.toString()), UncachedIo.bounceBuffers(), new DiskReads());
    }

    static Path sparseFile(Path dir, long size) throws IOException {
        Path f = dir.resolve("disk.img");
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size);
        }
        return f;
    }

    static ByteBuffer direct(byte[] data) {
        return ByteBuffer.allocateDirect(data.length).put(data).flip();
    }

    static byte[] read(FileHandle h, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        h.read(b, offset, 0);
        assertEquals(0, b.position(), "read must not move the buffer's position");
        byte[] out = new byte[length];
        b.get(0, out);
        return out;
    }

    static long allocatedBlocks(Path f) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", f.toString()).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(0, p.waitFor());
        return Long.parseLong(out);
    }

    static List<String> extents(FileHandle h, long offset, long length, int flags) throws IOException {
        Extents e = new Extents(offset, h.size());
        h.extents(offset, length, flags, e);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < e.count(); i++) {
            out.add(e.offset(i) + "+" + e.length(i) + (e.type(i) == 0 ? " data" : " hole"));
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void writesReadBackAlignedAndUnaligned(Mode mode) throws Exception {
        Path f = sparseFile(dir, 16 * MIB);
        byte[] data = new byte[3 * MIB + 4096];
        new Random(7).nextBytes(data);
        try (FileHandle h = open(f, mode.options)) {
            assertEquals(16 * MIB, h.size());
            h.write(direct(data), 4 * MIB, 0);                       // aligned
            h.write(direct(new byte[] {1, 2, 3}), 1001, Flags.FUA);    // unaligned
            // a buffer whose memory is not page aligned takes the bounce path under cache=none
            ByteBuffer odd = ByteBuffer.allocateDirect(8192 + 1).position(1).slice().put(data, 0, 8192).flip();
            h.write(odd, 12 * MIB, 0);
            assertArrayEquals(data, read(h, 4 * MIB, data.length));
            assertArrayEquals(new byte[] {0, 1, 2, 3, 0}, read(h, 1000, 5));
            ByteBuffer back = ByteBuffer.allocateDirect(8192 + 1).position(1).slice();
            h.read(back, 12 * MIB, 0);
            byte[] got = new byte[8192];
            back.get(0, got);
            assertArrayEquals(java.util.Arrays.copyOf(data, 8192), got);
            h.flush(0);
        }
        byte[] onDisk = new byte[data.length];
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "r")) {
            r.seek(4 * MIB);
            r.readFully(onDisk);
        }
        assertArrayEquals(data, onDisk, "the bytes are in the file itself");
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void parallelWritersAndReadersDoNotInterfere(Mode mode) throws Exception {
        Path f = sparseFile(dir, 64 * MIB);
        try (FileHandle h = open(f, mode.options); ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> jobs = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                int n = i;
                jobs.add(pool.submit(() -> {
                    byte[] d = new byte[64 * 1024];
                    java.util.Arrays.fill(d, (byte) n);
                    for (int k = 0; k < 16; k++) {
                        long off = (long) n * 2 * MIB + k * 65536L;
                        h.write(direct(d), off, 0);
                        assertArrayEquals(d, read(h, off, d.length));
                    }
                    return null;
                }));
            }
            for (Future<?> j : jobs) {
                j.get();
            }
        }
    }

    @Test
    void extentsFollowTheFilesDataAndHoles() throws Exception {
        Path f = sparseFile(dir, 32 * MIB);
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            assertEquals(!FileTarget.inspect(f).inMemory(), h.blocksInKernel(), "a file on a device waits for it in the kernel");
            h.write(direct(new byte[MIB]), 4 * MIB, 0);
            h.write(direct(new byte[2 * MIB]), 10 * MIB, 0);
            // writing zeros still allocates: the file system keeps them as data
            assertEquals(List.of("0+4194304 hole", "4194304+1048576 data", "5242880+5242880 hole",
                    "10485760+2097152 data", "12582912+20971520 hole"), extents(h, 0, 32 * MIB, 0));
            assertEquals(List.of("4194304+1048576 data"), extents(h, 4 * MIB, 4096, 0),
                    "the extent may reach past the request, up to where the data ends");
            assertEquals(List.of("0+4194304 hole"), extents(h, 0, 32 * MIB, Flags.REQ_ONE));
            assertEquals(List.of("20971520+12582912 hole"), extents(h, 20 * MIB, 4096, 0), "a trailing hole, from the request on");
        }
    }

    @Test
    void aWriteOfWholePagesLandsInThePageCacheUnlessItMustWaitForTheDevice() throws Exception {
        Path f = sparseFile(dir, 4 * MIB);
        org.junit.jupiter.api.Assumptions.assumeFalse(FileTarget.inspect(f).inMemory(), "the test directory is on tmpfs");
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            assertTrue(h.writesToCache(8192, 4096, 0));
            assertTrue(h.writesToCache(MIB, MIB, 0));
            assertFalse(h.writesToCache(8192, 512, 0), "part of a page: the rest is read from the disk first");
            assertFalse(h.writesToCache(8192 + 512, 4096, 0), "parts of two pages");
            assertFalse(h.writesToCache(8192, 4096, Flags.FUA), "FUA waits for the disk");
        }
        try (FileHandle h = open(f, new FileOptions(FileOptions.Cache.NONE, FileOptions.Advice.NORMAL))) {
            assertFalse(h.writesToCache(8192, 4096, 0), "cache=none writes reach the device");
        }
    }

    @Test
    void aCachedReadReadsOnlyWhatThePageCacheHolds() throws Exception {
        Path f = sparseFile(dir, 4 * MIB);
        org.junit.jupiter.api.Assumptions.assumeFalse(FileTarget.inspect(f).inMemory(), "the test directory is on tmpfs");
        byte[] data = new byte[8192];
        new Random(3).nextBytes(data);
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            h.write(direct(data), 8192, 0);                          // now in the page cache
            ByteBuffer b = ByteBuffer.allocateDirect(8192);
            assertTrue(h.readCached(b, 8192, 0));
            assertEquals(0, b.position(), "position and limit stay");
            byte[] got = new byte[8192];
            b.get(0, got);
            assertArrayEquals(data, got);
            h.write(direct(data), 2 * MIB, 0);
            h.flush(0);
            try (NativeFd fd = NativeFd.open(f, false, false)) {
                assertEquals(0, fd.advise(0, 0, LibC.POSIX_FADV_DONTNEED), "clean pages dropped from the cache");
            }
            assertFalse(h.readCached(ByteBuffer.allocateDirect(4096), 2 * MIB, 0), "a page on the disk only is not cached");
            assertArrayEquals(java.util.Arrays.copyOf(data, 4096), read(h, 2 * MIB, 4096));
            assertTrue(h.readCached(ByteBuffer.allocateDirect(4096), 2 * MIB, 0), "once read, it is");
            assertFalse(h.readCached(ByteBuffer.allocateDirect(8192), 2 * MIB, 0), "all of it, or nothing");
        }
        try (FileHandle h = open(f, new FileOptions(FileOptions.Cache.NONE, FileOptions.Advice.NORMAL))) {
            assertFalse(h.readCached(ByteBuffer.allocateDirect(4096), 8192, 0), "cache=none reads the device");
        }
    }

    @Test
    void trimPunchesAHoleAndFreesBlocks() throws Exception {
        Path f = sparseFile(dir, 8 * MIB);
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            byte[] ones = new byte[4 * MIB];
            java.util.Arrays.fill(ones, (byte) 1);
            h.write(direct(ones), 0, 0);
            h.flush(0);
            long before = allocatedBlocks(f);
            h.trim(MIB, 2 * MIB, Flags.FUA);
            long after = allocatedBlocks(f);
            assertEquals(before - 2 * MIB / 512, after, "2 MiB of 512-byte blocks freed");
            assertArrayEquals(new byte[2 * MIB], read(h, MIB, 2 * MIB));
            assertEquals(List.of("0+1048576 data", "1048576+2097152 hole", "3145728+1048576 data", "4194304+4194304 hole"),
                    extents(h, 0, 8 * MIB, 0));
        }
    }

    @Test
    void zeroMayPunchOnlyWhenAllowed() throws Exception {
        Path f = sparseFile(dir, 8 * MIB);
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            byte[] ones = new byte[4 * MIB];
            java.util.Arrays.fill(ones, (byte) 1);
            h.write(direct(ones), 0, 0);
            h.flush(0);
            long full = allocatedBlocks(f);
            h.zero(0, MIB, 0);                                        // NO_HOLE: stays allocated
            assertEquals(full, allocatedBlocks(f));
            h.zero(MIB, MIB, Flags.MAY_TRIM | Flags.FAST_ZERO);      // may punch
            assertEquals(full - MIB / 512, allocatedBlocks(f));
            assertArrayEquals(new byte[2 * MIB], read(h, 0, 2 * MIB));
            assertArrayEquals(java.util.Arrays.copyOf(ones, 2 * MIB), read(h, 2 * MIB, 2 * MIB));
        }
    }

    @Test
    void onTmpfsZeroFallsBackFromZeroRangeAndRemembers() throws Exception {
        Path shm = Path.of("/dev/shm");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(shm), "no /dev/shm here");
        Path d = Files.createTempDirectory(shm, "filetest");
        Path f = sparseFile(d, 4 * MIB);
        Fallbacks fallbacks = new Fallbacks(f.toString());
        try (FileHandle h = FileHandle.open(FileTarget.inspect(f), FileOptions.DEFAULT, false, fallbacks, UncachedIo.bounceBuffers(), new DiskReads())) {
            assertFalse(h.blocksInKernel(), "nothing on tmpfs waits for a device");
            assertTrue(h.writesToCache(1, 3, Flags.FUA), "nor does any write there");
            h.write(direct(new byte[] {9, 9, 9, 9}), 0, 0);
            h.zero(0, 4096, Flags.FAST_ZERO);                        // tmpfs has no ZERO_RANGE: punch, then allocate
            assertFalse(fallbacks.zeroRange(), "tmpfs refuses ZERO_RANGE; the plugin remembers");
            assertTrue(fallbacks.punchHole());
            assertArrayEquals(new byte[4], read(h, 0, 4));
            assertEquals(4096 / 512, allocatedBlocks(f), "zero without MAY_TRIM keeps the range allocated");
            h.zero(0, 4096, Flags.MAY_TRIM);
            assertEquals(0, allocatedBlocks(f), "with MAY_TRIM it is punched");
        } finally {
            Files.deleteIfExists(f);
            Files.deleteIfExists(d);
        }
    }

    @Test
    void readPastATruncatedEndIsEioAndTheHandleKeepsWorking() throws Exception {
        Path f = sparseFile(dir, 8 * MIB);
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            h.write(direct(new byte[] {5}), 0, 0);
            try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
                r.setLength(MIB);
            }
            NbdException e = assertThrows(NbdException.class, () -> read(h, 4 * MIB, 4096));
            assertEquals(NbdError.EIO, e.error());
            NbdException x = assertThrows(NbdException.class, () -> extents(h, 4 * MIB, 4096, 0));
            assertEquals(NbdError.EIO, x.error());
            assertArrayEquals(new byte[] {5}, read(h, 0, 1), "what is still there reads fine");
        }
    }

    @Test
    void cacheNoneAdvertisesTheDirectIoAlignmentOnlyWhenTheSizeAllowsIt() throws Exception {
        Path aligned = sparseFile(dir, 8 * MIB);
        FileOptions none = new FileOptions(FileOptions.Cache.NONE, FileOptions.Advice.NORMAL);
        try (FileHandle h = open(aligned, none)) {
            assertTrue(h.blockSize().minimum() >= 512, "O_DIRECT alignment: " + h.blockSize());
        }
        Path odd = dir.resolve("odd.img");
        Files.write(odd, new byte[1000]);
        try (FileHandle h = open(odd, none)) {
            assertEquals(1, h.blockSize().minimum(), "the last 1000 bytes must stay reachable");
            assertArrayEquals(new byte[10], read(h, 990, 10));
        }
        try (FileHandle h = open(aligned, FileOptions.DEFAULT)) {
            assertEquals(1, h.blockSize().minimum());
            assertTrue(h.blockSize().preferred() >= 512);
        }
    }

    @Test
    void immutableFileIsServedReadOnly() throws Exception {
        Path f = sparseFile(dir, MIB);
        Process p = new ProcessBuilder("chattr", "+i", f.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "cannot make a file immutable here: " + out);
        try (FileHandle h = open(f, FileOptions.DEFAULT)) {
            assertFalse(h.canWrite(), "a file that refuses writing is served read-only");
            assertFalse(h.canTrim());
            assertArrayEquals(new byte[16], read(h, 0, 16));
        } finally {
            new ProcessBuilder("chattr", "-i", f.toString()).start().waitFor();
        }
    }
}
