package org.nbdosgi.plugin.vddk;

import java.io.IOException;

import org.nbdosgi.api.Extents;

/**
 * Turns VixDiskLib_QueryAllocatedBlocks answers into NBD extents. VDDK only answers in whole chunks
 * of 128 sectors and at most 512K chunks per call, so the range is widened to whole chunks (the
 * {@link Extents} collector clips what lies outside the request) and split into calls. Blocks are
 * data, the gaps between them and after the last one holes. A partial chunk at the end of the disk
 * cannot be asked about and is reported as data (the safe answer).
 */
final class AllocatedBlocks {
    static final long CHUNK = VixDiskLib.MIN_CHUNK;
    static final long CHUNK_BYTES = CHUNK * VixDiskLib.SECTOR;

    /** One QueryAllocatedBlocks call: {offset, length} sector pairs, flattened. */
    interface Query {
        long[] blocks(long startSector, long numSectors, long chunkSize) throws IOException;
    }

    private AllocatedBlocks() {
    }

    /**
     * Describes {@code [offset, offset + length)} of a disk of {@code capacity} sectors.
     *
     * @param holeType what a hole is: HOLE|ZERO for a whole chain, HOLE alone for a single link
     *                 (its holes may show the parent's data)
     * @param reqOne   stop once an extent reaches past {@code offset}
     */
    static void describe(Query query, long capacity, long offset, long length, int holeType, boolean reqOne,
                         Extents out) throws IOException {
        long queryable = capacity / CHUNK * CHUNK;                 // sectors in whole chunks
        long start = offset / CHUNK_BYTES * CHUNK;
        long end = Math.min(ceilDiv(offset + length, CHUNK_BYTES) * CHUNK, queryable);
        long pos = start * VixDiskLib.SECTOR;
        while (start < end && !out.isFull()) {
            long n = Math.min(end - start, VixDiskLib.MAX_CHUNK_NUMBER * CHUNK);
            long limit = (start + n) * VixDiskLib.SECTOR;
            long[] blocks = query.blocks(start, n, CHUNK);
            for (int i = 0; i + 1 < blocks.length; i += 2) {
                long from = Math.max(blocks[i] * VixDiskLib.SECTOR, pos);
                long to = Math.min((blocks[i] + blocks[i + 1]) * VixDiskLib.SECTOR, limit);
                if (to <= from) {
                    continue;                                      // outside what was asked, or overlapping
                }
                if (from > pos) {
                    out.add(pos, from - pos, holeType);
                }
                out.add(from, to - from, 0);
                pos = to;
            }
            if (pos < limit) {
                out.add(pos, limit - pos, holeType);
                pos = limit;
            }
            start += n;
            if (reqOne && out.covered() > offset) {
                return;
            }
        }
        long diskEnd = capacity * VixDiskLib.SECTOR;
        if (pos < offset + length && pos < diskEnd && end == queryable) {
            out.add(pos, diskEnd - pos, 0);                        // the partial last chunk
        }
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
