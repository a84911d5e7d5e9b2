package org.nbdosgi.engine.protocol;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers for request payloads and each connection's own buffers, pooled by power-of-two
 * size class so the data plane does not allocate native memory per request. Lock-free; shared by
 * all connections.
 *
 * <p>Native memory never waits for the garbage collector: each buffer is allocated in a
 * {@code java.lang.foreign.Arena} of its own, and a buffer the pool does not keep (each class keeps
 * up to 16 MiB, at least one buffer) is freed at once by closing that arena. (A buffer from
 * {@code ByteBuffer.allocateDirect} is freed only when a collection finds it unreachable: after
 * 16,000 short connections that was 1.5 GB of RSS.) A buffer used after it was released fails
 * instead of touching freed memory. The foreign memory API is final from Java 22 and the bundle is
 * built for Java 21, so it is reached through method handles; on Java 21 buffers come from
 * {@code allocateDirect} as before.
 */
public final class BufferPool {
    private static final int MIN_SHIFT = 12;                  // 4 KiB
    private static final int MAX_SHIFT = 26;                  // 64 MiB, BlockSize.MAX_PAYLOAD
    private static final long RETAINED_BYTES_PER_CLASS = 16L << 20;

    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] retained;
    /** The arena each buffer lives in (by identity), to free it: touched only when a buffer is made or dropped. */
    private final Map<ByteBuffer, AutoCloseable> arenas = Collections.synchronizedMap(new IdentityHashMap<>());
    private final AtomicLong outstanding = new AtomicLong();

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
        ByteBuffer b = cls < 0 ? null : free[cls].poll();
        if (b == null) {
            b = allocate(cls < 0 ? size : 1 << (cls + MIN_SHIFT));
        } else {
            retained[cls].decrementAndGet();
        }
        outstanding.incrementAndGet();
        return b.clear().limit(size);
    }

    /** Returns a buffer from {@link #acquire}; the caller must not use it afterwards. */
    public void release(ByteBuffer b) {
        outstanding.decrementAndGet();
        int cls = sizeClass(b.capacity());
        if (cls >= 0 && b.capacity() == 1 << (cls + MIN_SHIFT)) {
            long keep = Math.max(1, RETAINED_BYTES_PER_CLASS >> (cls + MIN_SHIFT));
            if (retained[cls].incrementAndGet() <= keep) {
                free[cls].offer(b);
                return;
            }
            retained[cls].decrementAndGet();
        }
        AutoCloseable arena = arenas.remove(b);
        if (arena != null) {
            try {
                arena.close();                               // the memory goes back now, not at the next GC
            } catch (Exception e) {
                throw new IllegalStateException("a pooled buffer is still in use", e);
            }
        }
    }

    /** Buffers acquired and not yet released (a connection's own buffers and its requests' payloads). */
    public long outstanding() {
        return outstanding.get();
    }

    private ByteBuffer allocate(int size) {
        if (OF_SHARED == null) {
            return ByteBuffer.allocateDirect(size);
        }
        try {
            AutoCloseable arena = (AutoCloseable) OF_SHARED.invoke();
            ByteBuffer b = (ByteBuffer) AS_BYTE_BUFFER.invoke(ALLOCATE.invoke(arena, (long) size, 64L));
            arenas.put(b, arena);
            return b;
        } catch (Throwable e) {
            if (e instanceof OutOfMemoryError oom) {
                throw oom;
            }
            throw new IllegalStateException("allocating a buffer of " + size + " bytes failed", e);
        }
    }

    // java.lang.foreign (Java 22 and later): Arena.ofShared(), Arena.allocate(long, long), MemorySegment.asByteBuffer()
    private static final MethodHandle OF_SHARED;
    private static final MethodHandle ALLOCATE;
    private static final MethodHandle AS_BYTE_BUFFER;

    static {
        MethodHandle ofShared = null;
        MethodHandle allocate = null;
        MethodHandle asByteBuffer = null;
        if (Runtime.version().feature() >= 22) {
            try {
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                Class<?> arena = Class.forName("java.lang.foreign.Arena");
                Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
                ofShared = lookup.findStatic(arena, "ofShared", MethodType.methodType(arena));
                allocate = lookup.findVirtual(arena, "allocate", MethodType.methodType(segment, long.class, long.class));
                asByteBuffer = lookup.findVirtual(segment, "asByteBuffer", MethodType.methodType(ByteBuffer.class));
            } catch (ReflectiveOperationException e) {
                ofShared = null;
            }
        }
        OF_SHARED = ofShared;
        ALLOCATE = allocate;
        AS_BYTE_BUFFER = asByteBuffer;
    }

    private static int sizeClass(int size) {
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(1, size) - 1));
        return shift > MAX_SHIFT ? -1 : shift - MIN_SHIFT;
    }
}
