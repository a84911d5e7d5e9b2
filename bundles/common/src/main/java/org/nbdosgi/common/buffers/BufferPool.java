package org.nbdosgi.common.buffers;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers pooled by power-of-two size class, so the data plane neither allocates nor frees
 * native memory per request. A buffer comes back with position 0 and the limit asked for; its
 * capacity is the class size. Each class keeps what was released up to a budget of bytes (at least
 * two buffers); the rest, and sizes beyond the largest class, are left to the garbage collector.
 * Optionally aligned (for O_DIRECT). Lock-free.
 */
public final class BufferPool {
    private final int minShift;
    private final int maxShift;
    private final long retainedBytesPerClass;
    private final int alignment;
    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] retained;

    /** The engine's pool for request payloads: 4 KiB to 32 MiB, 64 MiB kept per class. */
    public BufferPool() {
        this(4096, 32 << 20, 64L << 20, 1);
    }

    /**
     * @param smallest              the smallest class (a power of 2); smaller requests get one of these
     * @param largest               the largest class (a power of 2); larger requests are not pooled
     * @param retainedBytesPerClass how many bytes of released buffers each class keeps
     * @param alignment             the address alignment of every buffer (a power of 2; 1 for none)
     */
    @SuppressWarnings("unchecked")
    public BufferPool(int smallest, int largest, long retainedBytesPerClass, int alignment) {
        if (Integer.bitCount(smallest) != 1 || Integer.bitCount(largest) != 1 || largest < smallest
                || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("sizes and alignment must be powers of 2");
        }
        this.minShift = Integer.numberOfTrailingZeros(smallest);
        this.maxShift = Integer.numberOfTrailingZeros(largest);
        this.retainedBytesPerClass = retainedBytesPerClass;
        this.alignment = alignment;
        int classes = maxShift - minShift + 1;
        free = new ConcurrentLinkedQueue[classes];
        retained = new AtomicInteger[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ConcurrentLinkedQueue<>();
            retained[i] = new AtomicInteger();
        }
    }

    /** A direct buffer with position 0 and limit {@code size}. */
    public ByteBuffer acquire(int size) {
        int cls = sizeClass(size);
        if (cls < 0) {
            return allocate(size);
        }
        ByteBuffer b = free[cls].poll();
        if (b == null) {
            b = allocate(1 << (cls + minShift));
        } else {
            retained[cls].decrementAndGet();
        }
        return b.clear().limit(size);
    }

    /** Gives back a buffer from {@link #acquire}; the caller must not use it afterwards. */
    public void release(ByteBuffer b) {
        int cls = sizeClass(b.capacity());
        if (cls < 0 || b.capacity() != 1 << (cls + minShift)) {
            return;
        }
        long maxCount = Math.max(2, retainedBytesPerClass >> (cls + minShift));
        if (retained[cls].incrementAndGet() <= maxCount) {
            free[cls].offer(b);
        } else {
            retained[cls].decrementAndGet();
        }
    }

    private ByteBuffer allocate(int size) {
        return alignment == 1 ? ByteBuffer.allocateDirect(size)
                : ByteBuffer.allocateDirect(size + alignment).alignedSlice(alignment).limit(size).slice();
    }

    private int sizeClass(int size) {
        int shift = Math.max(minShift, 32 - Integer.numberOfLeadingZeros(Math.max(1, size) - 1));
        return shift > maxShift ? -1 : shift - minShift;
    }
}
