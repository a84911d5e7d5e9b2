package org.nbdosgi.filter.cache;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for moving blocks between the layer below and the cache file (fills, read-modify-
 * write, write-back). Sizes are powers of two from 64 KiB up; a few of each size are kept for
 * reuse, the rest left to the garbage collector. Lock-free; data plane.
 */
final class Scratch {
    private static final int SMALLEST = 64 * 1024;
    private static final int KEEP_PER_SIZE = 8;
    private static final int CLASSES = 32 - Integer.numberOfLeadingZeros(CacheOptions.MAX_BLOCK_SIZE * 4 / SMALLEST);

    private final ConcurrentLinkedDeque<ByteBuffer>[] free;
    private final AtomicInteger[] kept;

    @SuppressWarnings("unchecked")
    Scratch() {
        free = new ConcurrentLinkedDeque[CLASSES];
        kept = new AtomicInteger[CLASSES];
        for (int i = 0; i < CLASSES; i++) {
            free[i] = new ConcurrentLinkedDeque<>();
            kept[i] = new AtomicInteger();
        }
    }

    /** A buffer with position 0 and limit {@code length}. */
    ByteBuffer acquire(int length) {
        int c = sizeClass(length);
        if (c < CLASSES) {
            ByteBuffer b = free[c].pollFirst();
            if (b != null) {
                kept[c].decrementAndGet();
                return b.clear().limit(length);
            }
            return ByteBuffer.allocateDirect(SMALLEST << c).limit(length);
        }
        return ByteBuffer.allocateDirect(length);
    }

    void release(ByteBuffer b) {
        int c = sizeClass(b.capacity());
        if (c < CLASSES && (SMALLEST << c) == b.capacity() && kept[c].incrementAndGet() <= KEEP_PER_SIZE) {
            free[c].offerFirst(b);
        } else if (c < CLASSES && (SMALLEST << c) == b.capacity()) {
            kept[c].decrementAndGet();
        }
    }

    private static int sizeClass(int length) {
        return length <= SMALLEST ? 0 : 32 - Integer.numberOfLeadingZeros((length - 1) / SMALLEST);
    }
}
