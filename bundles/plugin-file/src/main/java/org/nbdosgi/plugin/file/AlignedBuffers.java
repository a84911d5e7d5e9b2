package org.nbdosgi.plugin.file;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Page-aligned direct buffers of {@link #CHUNK} bytes for O_DIRECT requests whose buffer is not
 * aligned (the engine's pool gives no alignment guarantee). Lock-free; shared by all connections of
 * an export; keeps at most {@link #RETAINED} buffers.
 */
final class AlignedBuffers {
    static final int ALIGNMENT = 4096;
    static final int CHUNK = 1 << 20;
    private static final int RETAINED = 16;

    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pooled = new AtomicInteger();

    ByteBuffer acquire() {
        ByteBuffer b = free.poll();
        if (b == null) {
            return ByteBuffer.allocateDirect(CHUNK + ALIGNMENT).alignedSlice(ALIGNMENT).limit(CHUNK);
        }
        pooled.decrementAndGet();
        return b.clear();
    }

    void release(ByteBuffer b) {
        if (pooled.incrementAndGet() <= RETAINED) {
            free.offer(b);
        } else {
            pooled.decrementAndGet();
        }
    }
}
