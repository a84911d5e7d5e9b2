package org.nbdosgi.common.buffers;

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
 * Direct buffers pooled by power-of-two size class, so the data plane neither allocates nor frees
 * native memory per request. A buffer comes back with position 0 and the limit asked for; its
 * capacity is the class size. Each class keeps what was released up to a budget of bytes (at least
 * one buffer). Optionally aligned (for O_DIRECT). Lock-free.
 *
 * <p>Native memory never waits for the garbage collector: each buffer is allocated in a
 * {@code java.lang.foreign.Arena} of its own, and a buffer the pool does not keep (beyond the
 * budget, or larger than the largest class) is freed at once by closing that arena. (A buffer from
 * {@code ByteBuffer.allocateDirect} is freed only when a collection finds it unreachable: after
 * 16,000 short connections that was 1.5 GB of RSS.) A buffer used after it was released fails
 * instead of touching freed memory. The foreign memory API is final from Java 22 and the bundles
 * are built for Java 21, so it is reached through method handles; on Java 21 buffers come from
 * {@code allocateDirect}.
 */
public final class BufferPool {
    private final int minShift;
    private final int maxShift;
    private final long retainedBytesPerClass;
    private final int alignment;
    private final ConcurrentLinkedQueue<ByteBuffer>[] free;
    private final AtomicInteger[] retained;
    /** The arena each buffer lives in (by identity), to free it: touched only when a buffer is made or dropped. */
    private final Map<ByteBuffer, AutoCloseable> arenas = Collections.synchronizedMap(new IdentityHashMap<>());
    private final AtomicLong outstanding = new AtomicLong();

    /** The engine's pool for request payloads and connections' own buffers: 4 KiB to 64 MiB, 16 MiB kept per class. */
    public BufferPool() {
        this(4096, 64 << 20, 32L << 20, 1);
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
        ByteBuffer b = cls < 0 ? null : free[cls].poll();
        if (b == null) {
            b = allocate(cls < 0 ? size : 1 << (cls + minShift));
        } else {
            retained[cls].decrementAndGet();
        }
        outstanding.incrementAndGet();
        return b.clear().limit(size);
    }

    /** Gives back a buffer from {@link #acquire}; the caller must not use it afterwards. */
    public void release(ByteBuffer b) {
        outstanding.decrementAndGet();
        int cls = sizeClass(b.capacity());
        if (cls >= 0 && b.capacity() == 1 << (cls + minShift)) {
            long keep = Math.max(1, retainedBytesPerClass >> (cls + minShift));
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

    /** Buffers acquired and not yet released. */
    public long outstanding() {
        return outstanding.get();
    }

    private ByteBuffer allocate(int size) {
        if (OF_SHARED == null) {
            return alignment == 1 ? ByteBuffer.allocateDirect(size)
                    : ByteBuffer.allocateDirect(size + alignment).alignedSlice(alignment).limit(size).slice();
        }
        try {
            AutoCloseable arena = (AutoCloseable) OF_SHARED.invoke();
            ByteBuffer b = (ByteBuffer) AS_BYTE_BUFFER.invoke(ALLOCATE.invoke(arena, (long) size, (long) Math.max(64, alignment)));
            arenas.put(b, arena);
            return b;
        } catch (Throwable e) {
            if (e instanceof OutOfMemoryError oom) {
                throw oom;
            }
            throw new IllegalStateException("allocating a buffer of " + size + " bytes failed", e);
        }
    }

    private int sizeClass(int size) {
        int shift = Math.max(minShift, 32 - Integer.numberOfLeadingZeros(Math.max(1, size) - 1));
        return shift > maxShift ? -1 : shift - minShift;
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
}
