package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.filter.cache.Fixture.pattern;
import static org.nbdosgi.filter.cache.Fixture.read;
import static org.nbdosgi.filter.cache.Fixture.write;

import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.testkit.RamDisk;

/** When the layer below refuses writes: errors reach the client, and dirty data stays until it can go. */
class CacheFailureTest {
    private static final int SIZE = 8 << 20;

    @TempDir
    Path tmp;

    @Test
    void aFailedFlushReportsTheErrorAndKeepsTheBlocksDirty() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            byte[] data = pattern(1, 300_000);
            write(h, 50_000, data, 0);
            f.disk.failWrites = true;
            NbdException e = assertThrows(NbdException.class, () -> h.flush(0));
            assertEquals(NbdError.ENOSPC, e.error(), "the layer below's own error");
            assertTrue(e.getMessage().contains("stay dirty"), e.getMessage());
            assertArrayEquals(new byte[SIZE], f.disk.snapshot());
            assertArrayEquals(data, read(h, 50_000, data.length), "still served from the cache");
            f.disk.failWrites = false;
            h.flush(0);
            assertArrayEquals(data, Arrays.copyOfRange(f.disk.snapshot(), 50_000, 350_000), "written on the next flush");
        }
    }

    /**
     * The write-back succeeds but the flush below fails, and the layer below drops what it was
     * given: the blocks (data and zeroed ones) stay dirty, reads still see them, the next flush
     * sends them again.
     */
    @Test
    void aFlushThatFailsBelowKeepsTheWrittenBackBlocksDirty() throws Exception {
        byte[] before = pattern(10, SIZE);
        RamDisk disk = new RamDisk(SIZE);
        disk.fill(before);
        try (Fixture f = new Fixture(tmp, disk)) {
            Handle h = f.open();
            byte[] data = pattern(11, 300_000);
            write(h, 50_000, data, 0);
            h.zero(2 << 20, 1 << 20, 0);                     // whole cache blocks: zeroed in the cache only
            disk.failNextFlush();
            NbdException e = assertThrows(NbdException.class, () -> h.flush(0));
            assertEquals(NbdError.EIO, e.error(), "the layer below's own error");
            assertTrue(e.getMessage().contains("stay dirty"), e.getMessage());
            assertArrayEquals(before, disk.snapshot(), "the failed flush lost what was written back");
            assertArrayEquals(data, read(h, 50_000, data.length), "still served from the cache");
            assertArrayEquals(new byte[1 << 20], read(h, 2 << 20, 1 << 20), "still zero");

            h.flush(0);
            byte[] expected = before.clone();
            System.arraycopy(data, 0, expected, 50_000, data.length);
            Arrays.fill(expected, 2 << 20, 3 << 20, (byte) 0);
            assertArrayEquals(expected, disk.snapshot(), "the next flush sent everything again");
        }
    }

    /** A write that lands while a flush waits for the layer below stays dirty after that flush: the next one sends it. */
    @Test
    void aWriteDuringTheFlushBelowStaysDirty() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            byte[] first = pattern(12, 65536);
            byte[] second = pattern(13, 65536);
            write(h, 0, first, 0);
            f.disk.duringFlush = () -> write(h, 0, second, 0);
            h.flush(0);
            assertArrayEquals(first, Arrays.copyOf(f.disk.snapshot(), 65536), "the flush had written back the first version");
            assertArrayEquals(second, read(h, 0, 65536));
            h.flush(0);
            assertArrayEquals(second, Arrays.copyOf(f.disk.snapshot(), 65536), "the second version went on the next flush");
        }
    }

    /** cache-on-read with the cache full of dirty blocks that cannot be written back: reads are still served, from below. */
    @Test
    void aReadMissWithTheCacheFullOfStuckDirtyBlocksIsServedFromBelow() throws Exception {
        byte[] content = pattern(14, SIZE);
        RamDisk disk = new RamDisk(SIZE);
        disk.fill(content);
        try (Fixture f = new Fixture(tmp, disk, "cache-max-size=1M", "cache-on-read=true")) {
            Handle h = f.open();
            byte[] dirty = pattern(15, 15 * 65536);
            write(h, 0, dirty, 0);
            disk.failWrites = true;
            int reads = disk.reads.get();
            assertArrayEquals(Arrays.copyOfRange(content, 4 << 20, 5 << 20), read(h, 4 << 20, 1 << 20));
            assertArrayEquals(Arrays.copyOfRange(content, 6 << 20, (6 << 20) + 100), read(h, 6 << 20, 100));
            assertTrue(disk.reads.get() > reads, "read from below");
            assertArrayEquals(dirty, read(h, 0, dirty.length), "the dirty blocks are still there");
            disk.failWrites = false;
        }
    }

    @Test
    void aFullCacheOfDirtyBlocksThatCannotBeWrittenBackRefusesNewWrites() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE, "cache-max-size=1M")) {
            Handle h = f.open();
            byte[] first = pattern(2, 900_000);
            write(h, 0, first, 0);
            f.disk.failWrites = true;
            NbdException e = assertThrows(NbdException.class, () -> write(h, 4 << 20, pattern(3, 1 << 20), 0));
            assertEquals(NbdError.ENOSPC, e.error());
            assertArrayEquals(first, read(h, 0, first.length), "nothing acknowledged was dropped");
            f.disk.failWrites = false;
            byte[] second = pattern(4, 1 << 20);
            write(h, 4 << 20, second, 0);
            h.flush(0);
            byte[] lower = f.disk.snapshot();
            assertArrayEquals(first, Arrays.copyOf(lower, first.length));
            assertArrayEquals(second, Arrays.copyOfRange(lower, 4 << 20, 5 << 20));
        }
    }

    @Test
    void aFailedFuaWriteIsAnError() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            f.disk.failWrites = true;
            assertThrows(NbdException.class, () -> write(h, 0, pattern(5, 4096), org.nbdosgi.api.Flags.FUA));
        }
    }
}
