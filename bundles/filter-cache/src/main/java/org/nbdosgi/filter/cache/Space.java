package org.nbdosgi.filter.cache;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How many blocks the cache file holds, counted in blocks of data (clean or dirty) plus the slots
 * reserved by requests about to add blocks. A request reserves before it locks its blocks, so it
 * never waits for space while holding a lock. With cache-max-size, the count never exceeds
 * {@link #capacity()}; above {@link #highMark()} reclaim starts, down to {@link #lowMark()}.
 * Data plane.
 */
final class Space {
    private final long capacity;
    private final long highMark;
    private final long lowMark;
    private final AtomicLong used = new AtomicLong();

    private Space(long capacity, long highMark, long lowMark) {
        this.capacity = capacity;
        this.highMark = highMark;
        this.lowMark = lowMark;
    }

    static Space unlimited() {
        return new Space(Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    static Space limited(long maxSize, int blockSize, int highPercent, int lowPercent) {
        long capacity = maxSize / blockSize;
        return new Space(capacity, capacity * highPercent / 100, capacity * lowPercent / 100);
    }

    boolean isLimited() {
        return capacity != Long.MAX_VALUE;
    }

    long capacity() {
        return capacity;
    }

    long highMark() {
        return highMark;
    }

    long lowMark() {
        return lowMark;
    }

    long used() {
        return used.get();
    }

    boolean aboveHigh() {
        return used.get() > highMark;
    }

    /** Takes {@code n} slots if they fit under the capacity. */
    boolean tryReserve(long n) {
        if (n <= 0) {
            return true;
        }
        while (true) {
            long u = used.get();
            if (u + n > capacity) {
                return false;
            }
            if (used.compareAndSet(u, u + n)) {
                return true;
            }
        }
    }

    /** Gives back {@code n} slots: reserved and not used, or blocks that left the cache file. */
    void release(long n) {
        if (n > 0) {
            used.addAndGet(-n);
        }
    }
}
