package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.filter.cache.Fixture.pattern;
import static org.nbdosgi.filter.cache.Fixture.read;
import static org.nbdosgi.filter.cache.Fixture.write;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.testkit.RamDisk;

/** Reads served from the cache, zero and trim in the cache, block status over dirty blocks. */
class CacheStatesTest {
    private static final int SIZE = 4 << 20;
    private static final int B = 65536;

    @TempDir
    Path tmp;

    private static List<String> extents(Handle h, long offset, long length) throws Exception {
        Extents e = new Extents(offset, offset + length);
        h.extents(offset, length, 0, e);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < e.count(); i++) {
            out.add(e.offset(i) + "+" + e.length(i) + ":" + e.type(i));
        }
        return out;
    }

    @Test
    void cacheOnReadServesTheSecondReadFromTheCache() throws Exception {
        RamDisk disk = new RamDisk(SIZE);
        disk.fill(pattern(1, SIZE));
        try (Fixture f = new Fixture(tmp, disk, "cache-on-read=true")) {
            Handle h = f.open();
            byte[] first = read(h, 100_000, 500_000);
            int below = disk.reads.get();
            assertArrayEquals(first, read(h, 100_000, 500_000));
            assertArrayEquals(Arrays.copyOfRange(pattern(1, SIZE), 100_000, 600_000), first);
            assertEquals(below, disk.reads.get(), "no read reached the layer below the second time");
        }
    }

    @Test
    void withoutCacheOnReadReadsGoBelowEachTimeButCacheRequestsPrefetch() throws Exception {
        RamDisk disk = new RamDisk(SIZE);
        try (Fixture f = new Fixture(tmp, disk)) {
            Handle h = f.open();
            read(h, 0, 10_000);
            read(h, 0, 10_000);
            assertEquals(2, disk.reads.get());
            h.cache(0, 1 << 20, 0);
            int below = disk.reads.get();
            read(h, 5000, 200_000);
            assertEquals(below, disk.reads.get(), "prefetched by NBD_CMD_CACHE");
        }
    }

    @Test
    void cacheOnReadFollowsItsPath() throws Exception {
        Path flag = tmp.resolve("on");
        RamDisk disk = new RamDisk(SIZE);
        try (Fixture f = new Fixture(tmp, disk, "cache-on-read=" + flag)) {
            Handle h = f.open();
            read(h, 0, 4096);
            read(h, 0, 4096);
            assertEquals(2, disk.reads.get(), "off while the path is missing");
            Files.createFile(flag);
            read(h, 0, 4096);
            read(h, 0, 4096);
            assertEquals(3, disk.reads.get(), "on once it exists");
        }
    }

    @Test
    void zeroAndTrimStayInTheCacheInWritebackAndGoBelowOnFlush() throws Exception {
        RamDisk disk = new RamDisk(SIZE);
        byte[] content = pattern(2, SIZE);
        disk.fill(content);
        try (Fixture f = new Fixture(tmp, disk)) {
            Handle h = f.open();
            h.zero(B + 100, 3 * B, 0);                             // partial, two whole blocks, partial
            h.trim(8 * B, 4 * B, 0);
            assertArrayEquals(content, disk.snapshot(), "nothing below yet");
            assertArrayEquals(new byte[3 * B], read(h, B + 100, 3 * B));
            assertArrayEquals(new byte[4 * B], read(h, 8 * B, 4 * B), "trimmed blocks read as zeros");
            assertEquals(List.of("0+131072:0", "131072+131072:2", "262144+262144:0", "524288+262144:3",
                    "786432+65536:0"), extents(h, 0, 12 * B + B));
            h.flush(0);
            byte[] lower = disk.snapshot();
            assertArrayEquals(new byte[3 * B], Arrays.copyOfRange(lower, B + 100, 4 * B + 100));
            assertEquals(1, disk.zeros.get(), "the two whole zeroed blocks went below as one zero request");
            assertEquals(1, disk.trims.get(), "the four trimmed blocks as one trim");
            assertArrayEquals(Arrays.copyOf(content, B + 100), Arrays.copyOf(lower, B + 100));
            assertArrayEquals(Arrays.copyOfRange(content, 4 * B + 100, 8 * B), Arrays.copyOfRange(lower, 4 * B + 100, 8 * B));
        }
    }

    @Test
    void blockStatusShowsDirtyDataWhereTheLayerBelowHasAHole() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            assertEquals(List.of("0+4194304:3"), extents(h, 0, SIZE), "all holes below");
            write(h, 2 * B + 5, pattern(3, 10), 0);
            assertEquals(List.of("0+131072:3", "131072+65536:0", "196608+3997696:3"), extents(h, 0, SIZE),
                    "the dirty block is data, or a copy tool would skip it");
            h.flush(0);
            assertEquals(List.of("0+131072:3", "131072+65536:0", "196608+3997696:3"), extents(h, 0, SIZE),
                    "after write-back the layer below says so itself");
        }
    }

    @Test
    void fastZeroOnlyForWholeBlocksInTheCacheModes() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            h.zero(B, 2 * B, Flags.FAST_ZERO);
            NbdException e = assertThrows(NbdException.class, () -> h.zero(B + 1, B, Flags.FAST_ZERO));
            assertEquals(NbdError.ENOTSUP, e.error());
            assertTrue(h.canFastZero());
        }
    }

    @Test
    void writesAfterAZeroInTheCacheKeepTheZeros() throws Exception {
        RamDisk disk = new RamDisk(SIZE);
        disk.fill(pattern(4, SIZE));
        try (Fixture f = new Fixture(tmp, disk)) {
            Handle h = f.open();
            h.zero(0, 4 * B, 0);
            write(h, B + 10, pattern(5, 100), 0);                    // into a zeroed block: the rest stays zero
            write(h, 3 * B, pattern(6, 200), Flags.FUA);            // FUA into another zeroed block
            byte[] expected = new byte[4 * B];
            System.arraycopy(pattern(5, 100), 0, expected, B + 10, 100);
            System.arraycopy(pattern(6, 200), 0, expected, 3 * B, 200);
            assertArrayEquals(expected, read(h, 0, 4 * B));
            h.flush(0);
            assertArrayEquals(expected, Arrays.copyOf(disk.snapshot(), 4 * B));
        }
    }
}
