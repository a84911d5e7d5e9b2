package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.filter.cache.Fixture.pattern;
import static org.nbdosgi.filter.cache.Fixture.read;
import static org.nbdosgi.filter.cache.Fixture.write;

import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Support;
import org.nbdosgi.testkit.RamDisk;

/** What each cache mode does with writes, FUA and flush, seen from the layer below. */
class CacheModesTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path tmp;

    @Test
    void writebackKeepsTheLayerBelowUnchangedUntilFlush() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            byte[] before = f.disk.snapshot();
            byte[] data = pattern(1, 200_000);
            write(h, 12_345, data, 0);                            // unaligned at both ends
            assertArrayEquals(before, f.disk.snapshot(), "nothing reaches the layer below before flush");
            assertArrayEquals(data, read(h, 12_345, data.length), "but the client reads its data");
            h.flush(0);
            byte[] expected = before.clone();
            System.arraycopy(data, 0, expected, 12_345, data.length);
            assertArrayEquals(expected, f.disk.snapshot());
            assertEquals(1, f.disk.flushes.get());
        }
    }

    @Test
    void writebackFuaWritesThatRequestThrough() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            byte[] a = pattern(2, 5000);
            byte[] b = pattern(3, 5000);
            write(h, 100_000, a, 0);
            write(h, 2_000_000, b, Flags.FUA);
            byte[] lower = f.disk.snapshot();
            assertArrayEquals(b, Arrays.copyOfRange(lower, 2_000_000, 2_005_000), "the FUA write is below");
            assertArrayEquals(new byte[5000], Arrays.copyOfRange(lower, 100_000, 105_000), "the plain one is not yet");
        }
    }

    @Test
    void writethroughKeepsTheLayerBelowIdenticalAtEveryStep() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE, "cache=writethrough")) {
            Handle h = f.open();
            byte[] model = new byte[SIZE];
            java.util.Random r = new java.util.Random(4);
            for (int i = 0; i < 50; i++) {
                int off = r.nextInt(SIZE - 70_000);
                byte[] d = pattern(i, 1 + r.nextInt(70_000));
                write(h, off, d, 0);
                System.arraycopy(d, 0, model, off, d.length);
                assertArrayEquals(model, f.disk.snapshot(), "after write " + i);
                assertArrayEquals(Arrays.copyOfRange(model, off, off + d.length), read(h, off, d.length));
            }
            h.zero(70_000, 300_000, 0);
            Arrays.fill(model, 70_000, 370_000, (byte) 0);
            assertArrayEquals(model, f.disk.snapshot(), "after zero");
            assertArrayEquals(Arrays.copyOfRange(model, 0, 500_000), read(h, 0, 500_000));
        }
    }

    @Test
    void unsafeIgnoresFlushAndFuaButWritesBackAtStop() throws Exception {
        Fixture f = new Fixture(tmp, SIZE, "cache=unsafe");
        Handle h = f.open();
        byte[] data = pattern(5, 100_000);
        write(h, 4096, data, Flags.FUA);
        h.flush(0);
        assertArrayEquals(new byte[SIZE], f.disk.snapshot(), "flush and FUA do nothing");
        assertEquals(0, f.disk.flushes.get());
        f.close();                                                 // the export stops
        assertArrayEquals(data, Arrays.copyOfRange(f.disk.snapshot(), 4096, 4096 + data.length),
                "no acknowledged write is lost when the export stops");
    }

    @Test
    void writebackWritesBackWhenTheExportStops() throws Exception {
        Fixture f = new Fixture(tmp, SIZE);
        write(f.open(), 1_000_000, pattern(6, 3000), 0);
        f.close();
        assertArrayEquals(pattern(6, 3000), Arrays.copyOfRange(f.disk.snapshot(), 1_000_000, 1_003_000));
        assertTrue(f.disk.flushes.get() >= 1, "and flushed below");
    }

    @Test
    void capabilitiesPerMode() throws Exception {
        try (Fixture wb = new Fixture(tmp, SIZE); Fixture wt = new Fixture(tmp, SIZE, "cache=writethrough")) {
            Handle b = wb.open();
            Handle t = wt.open();
            for (Handle h : new Handle[] {b, t}) {
                assertTrue(h.canWrite());
                assertTrue(h.canFlush());
                assertTrue(h.canMultiConn(), "one cache and one handle below for every connection");
                assertEquals(Support.NATIVE, h.canCache());
                assertEquals(Support.NATIVE, h.canZero());
                assertEquals(Support.NATIVE, h.canFua());
                assertEquals(SIZE, h.size());
                assertEquals(1, h.blockSize().minimum());
                assertEquals(65536, h.blockSize().preferred(), "smaller writes read-modify-write a cache block");
            }
            assertFalse(wb.instance.open(Fixture.CLIENT.withReadOnly(true)).canWrite(), "a read-only client");
        }
    }

    @Test
    void theLayerBelowsMinimumBlockSizeRaisesTheCacheBlock() throws Exception {
        RamDisk disk = new RamDisk(SIZE);
        disk.minimumBlock = 65536;
        try (Fixture f = new Fixture(tmp, disk, "cache-min-block-size=4K")) {
            Handle h = f.open();
            assertEquals(65536, h.blockSize().minimum());
            write(h, 65536, pattern(7, 65536), 0);
            h.flush(0);
            assertArrayEquals(pattern(7, 65536), Arrays.copyOfRange(disk.snapshot(), 65536, 131072));
        }
    }

    /** nbdkit's cache filter punches dirty blocks out here (the data reads back as zeros); ours writes them back. */
    @Test
    void reclaimWritesDirtyBlocksBackFirstInRuns() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE, "cache-max-size=1M")) {
            Handle h = f.open();
            byte[] data = pattern(9, SIZE);
            for (int off = 0; off < SIZE; off += 65536) {
                write(h, off, Arrays.copyOfRange(data, off, off + 65536), 0);
            }
            byte[] lower = f.disk.snapshot();
            assertArrayEquals(Arrays.copyOf(data, 2 << 20), Arrays.copyOf(lower, 2 << 20),
                    "the blocks that left the cache are below, no flush needed");
            assertTrue(f.disk.writes.get() <= 64 / 3, "written back in runs, not block by block: " + f.disk.writes.get() + " writes");
            assertArrayEquals(data, read(h, 0, SIZE), "every byte reads back");
        }
    }

    @Test
    void connectionsShareTheCache() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle one = f.open();
            Handle two = f.instance.open(new org.nbdosgi.api.ClientContext("", false, "other", 2));
            write(one, 777, pattern(8, 10_000), 0);
            assertArrayEquals(pattern(8, 10_000), read(two, 777, 10_000));
            two.flush(0);                                       // multi-conn: the other connection's flush covers it
            assertArrayEquals(pattern(8, 10_000), Arrays.copyOfRange(f.disk.snapshot(), 777, 10_777));
        }
    }
}
