package org.nbdosgi.engine.protocol;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for request payloads, pooled by power-of-two size class so the data plane does not
 * allocate (and later free) native memory per request. Lock-free; shared by all connections.
 */
public final class BufferPool {
    private static final int MIN_SHIFT = 12;                  // 4 KiB
    private static final int MAX_SHIFT = 26;                  // 64 MiB, BlockSize.MAX_PAYLOAD
    private static final long RETAINED_BYTES_PER_CLASS = 64L << 20;

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] retained;

    @SuppressWarnings("unchecked")
    public BufferPool() {
        int classes = MAX_SHIFT - MIN_SHIFT + 1;
        free = new ConcurrentLinkedQueue[classes];
        retained = new AtomicInteger[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
            retained[i] = new AtomicInteger();
        }
    }

    /** A direct buffer with position 0 and limit {@code size}. Sizes over 64 MiB are not pooled. */
    public ByteBuffer acquire(int size) {
        int cls = sizeClass(size);
        if (cls < 0) {
            return ByteBuffer.allocateDirect(size);
        }
        ByteBuffer b = free[cls].poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT));
        } else {
            retained[cls].decrementAndGet();
        }
        return b.clear().limit(size);
    }

    /** Returns a buffer from {@link #acquire}; the caller must not use it afterwards. */
    public void release(ByteBuffer b) {
        int cls = sizeClass(b.capacity());
        if (cls < 0 || b.capacity() != 1 << (cls + MIN_SHIFT)) {
            return;
        }
        long maxCount = Math.max(2, RETAINED_BYTES_PER_CLASS >> (cls + MIN_SHIFT));
        if (retained[cls].incrementAndGet() <= maxCount) {
            free[cls].offer(b);
        } else {
            retained[cls].decrementAndGet();
        }
    }

    private static int sizeClass(int size) {
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, size) - 1));
        return shift > MAX_SHIFT ? -1 : shift - MIN_SHIFT;
    }
}
