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
     * @param reqOne   stop at the first extent that reaches past {@code offset}: one extent, one call
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
                if (from > pos && added(out, pos, from - pos, holeType, reqOne, offset)) {
                    return;
                }
                if (added(out, from, to - from, 0, reqOne, offset)) {
                    return;
                }
                pos = to;
            }
            if (pos < limit && added(out, pos, limit - pos, holeType, reqOne, offset)) {
                return;
            }
            pos = Math.max(pos, limit);
            start += n;
        }
        long diskEnd = capacity * VixDiskLib.SECTOR;
        if (pos < offset + length && pos < diskEnd && end == queryable) {
            out.add(pos, diskEnd - pos, 0);                        // the partial last chunk
        }
    }

    /** Adds an extent; true when that is all a REQ_ONE request wants (it reaches past {@code offset}). */
    private static boolean added(Extents out, long at, long length, int type, boolean reqOne, long offset)
            throws IOException {
        out.add(at, length, type);
        return reqOne && out.covered() > offset;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
