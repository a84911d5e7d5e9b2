package org.nbdosgi.plugin.vddk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.Extents;

class AllocatedBlocksTest {
    private static final long C = AllocatedBlocks.CHUNK;           // sectors per chunk
    private static final long CB = AllocatedBlocks.CHUNK_BYTES;    // bytes per chunk
    private static final int HZ = Extents.HOLE | Extents.ZERO;

    /** A disk whose allocated blocks are fixed; records every query. */
    private static final class FakeDisk implements AllocatedBlocks.Query {
        final long[] allocated;                                   // {offset, length} in sectors
        final List<long[]> queries = new ArrayList<>();

        FakeDisk(long... allocated) {
            this.allocated = allocated;
        }

        @Override
        public long[] blocks(long start, long n, long chunk) {
            queries.add(new long[] {start, n, chunk});
            assertEquals(0, start % chunk, "start must be whole chunks");
            assertEquals(0, n % chunk, "length must be whole chunks");
            assertTrue(n / chunk <= VixDiskLib.MAX_CHUNK_NUMBER, "at most 512K chunks per call");
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < allocated.length; i += 2) {
                long from = Math.max(allocated[i], start);
                long to = Math.min(allocated[i] + allocated[i + 1], start + n);
                if (from < to) {
                    out.add(from);
                    out.add(to - from);
                }
            }
            return out.stream().mapToLong(Long::longValue).toArray();
        }
    }

    private static String describe(FakeDisk disk, long capacity, long offset, long length, int holeType, boolean reqOne)
            throws Exception {
        Extents e = new Extents(offset, capacity * 512);
        AllocatedBlocks.describe(disk, capacity, offset, length, holeType, reqOne, e);
        return e.toString();
    }

    @Test
    void holesBetweenAndAfterBlocksReadAsZero() throws Exception {
        FakeDisk disk = new FakeDisk(2 * C, C, 5 * C, 2 * C);
        assertEquals("Extents[0+" + 2 * CB + ":3, " + 2 * CB + "+" + CB + ":0, " + 3 * CB + "+" + 2 * CB + ":3, "
                + 5 * CB + "+" + 2 * CB + ":0, " + 7 * CB + "+" + 3 * CB + ":3]", describe(disk, 10 * C, 0, 10 * CB, HZ, false));
    }

    @Test
    void anUnalignedRequestIsWidenedToChunksAndClipped() throws Exception {
        FakeDisk disk = new FakeDisk(C, C);
        String got = describe(disk, 4 * C, CB - 512, 1024, HZ, false);
        assertEquals("Extents[" + (CB - 512) + "+512:3, " + CB + "+" + CB + ":0]", got, "whole blocks may reach past the request");
        assertEquals(1, disk.queries.size());
        assertEquals(0, disk.queries.get(0)[0]);
        assertEquals(2 * C, disk.queries.get(0)[1]);
    }

    @Test
    void singleLinkHolesAreHolesOnly() throws Exception {
        FakeDisk disk = new FakeDisk(0, C);
        assertEquals("Extents[0+" + CB + ":0, " + CB + "+" + CB + ":1]", describe(disk, 2 * C, 0, 2 * CB, Extents.HOLE, false));
    }

    @Test
    void reqOneStopsAfterTheFirstCall() throws Exception {
        long huge = 3 * VixDiskLib.MAX_CHUNK_NUMBER * C;         // needs three calls for the whole disk
        FakeDisk disk = new FakeDisk(0, C);
        assertEquals("Extents[0+" + CB + ":0]", describe(disk, huge, 0, huge * 512, HZ, true), "one extent");
        assertEquals(1, disk.queries.size());
    }

    @Test
    void aLargeRangeIsSplitIntoCallsOfAtMost512KChunks() throws Exception {
        long huge = 2 * VixDiskLib.MAX_CHUNK_NUMBER * C + 4 * C;
        FakeDisk disk = new FakeDisk(huge - C, C);
        String got = describe(disk, huge, 0, huge * 512, HZ, false);
        assertEquals(3, disk.queries.size());
        assertEquals("Extents[0+" + (huge - C) * 512 + ":3, " + (huge - C) * 512 + "+" + CB + ":0]", got);
    }

    @Test
    void aPartialLastChunkIsReportedAsData() throws Exception {
        FakeDisk disk = new FakeDisk();
        long capacity = 2 * C + 8;                                // 8 sectors past the last whole chunk
        assertEquals("Extents[0+" + 2 * CB + ":3, " + 2 * CB + "+4096:0]", describe(disk, capacity, 0, capacity * 512, HZ, false));
        assertEquals("Extents[" + (2 * CB + 512) + "+3584:0]", describe(disk, capacity, 2 * CB + 512, 512, HZ, false));
        assertTrue(disk.queries.stream().allMatch(q -> q[0] + q[1] <= 2 * C), "never asks past the whole chunks");
    }

    @Test
    void aDiskSmallerThanAChunkIsAllData() throws Exception {
        FakeDisk disk = new FakeDisk();
        assertEquals("Extents[0+4096:0]", describe(disk, 8, 0, 4096, HZ, false));
        assertTrue(disk.queries.isEmpty());
    }
}
