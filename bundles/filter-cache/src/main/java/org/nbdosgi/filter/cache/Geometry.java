package org.nbdosgi.filter.cache;

/**
 * How an export of {@code size} bytes divides into cache blocks of {@code blockSize} (a power of
 * two). The last block may be short. Immutable.
 */
record Geometry(long size, int blockSize, long blocks) {
    Geometry(long size, int blockSize) {
        this(size, blockSize, (size + blockSize - 1) / blockSize);
    }

    long block(long offset) {
        return offset / blockSize;
    }

    long start(long block) {
        return block * blockSize;
    }

    /** The end of the block, never past the export's end. */
    long end(long block) {
        return Math.min(size, (block + 1) * blockSize);
    }

    int length(long block) {
        return (int) (end(block) - start(block));
    }

    /** Whether [from, to) covers the whole of {@code block}. */
    boolean covers(long from, long to, long block) {
        return from <= start(block) && to >= end(block);
    }
}
