package org.nbdosgi.filter.cache;

import static org.nbdosgi.filter.cache.BlockStates.DIRTY;
import static org.nbdosgi.filter.cache.BlockStates.NOT_CACHED;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.StampedLock;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the cache under cache-max-size: once it holds more than the high threshold, blocks leave
 * it until it holds less than the low threshold. Victims are chosen by the clock algorithm (an
 * approximation of least recently used): a hand sweeps the blocks, a block used since the hand last
 * passed gets a second chance, the others go. A dirty victim is written back to the layer below
 * before its space is punched out of the cache file, in every mode (with the idle dirty blocks right
 * after it, in one write); if that fails it stays. Blocks
 * in use (locked) are skipped. One reclaimer at a time; it holds no block lock while it waits, so
 * it never deadlocks with requests. Data plane: runs in the request that needs the space.
 */
final class Reclaimer {
    private static final Logger LOG = LoggerFactory.getLogger(Reclaimer.class);

    private final Geometry g;
    private final BlockStates states;
    private final BlockLocks locks;
    private final Space space;
    private final CacheFile file;
    private final WriteBack writeBack;
    private final int maxRun;
    private final ReentrantLock sweeping = new ReentrantLock();
    private long hand;                                        // guarded by sweeping

    Reclaimer(Geometry g, BlockStates states, BlockLocks locks, Space space, CacheFile file, WriteBack writeBack, int maxRun) {
        this.g = g;
        this.states = states;
        this.locks = locks;
        this.space = space;
        this.file = file;
        this.writeBack = writeBack;
        this.maxRun = maxRun;
    }

    /** After blocks were added: above the high threshold, reclaim down to the low one (unless someone already is). */
    void maybeReclaim() {
        if (!space.aboveHigh() || !sweeping.tryLock()) {
            return;
        }
        try {
            IOException failed = sweep(space.lowMark()).failure;
            if (failed != null) {
                LOG.warn("cache: reclaim could not write a dirty block back, it stays in the cache: {}", failed.getMessage());
            }
        } finally {
            sweeping.unlock();
        }
    }

    /**
     * Reserves {@code n} slots, reclaiming first when the cache is full. The caller holds no block
     * lock. Fails with the layer below's error when the cache is full of dirty blocks that cannot be
     * written back.
     */
    void reserve(long n) throws IOException {
        IOException stuck = reserveOrStuck(n);
        if (stuck != null) {
            throw new NbdException(NbdException.errorOf(stuck),
                    "cache: full, and a dirty block cannot be written back: " + stuck.getMessage(), stuck);
        }
    }

    /**
     * As {@link #reserve}, for a request that can do without the cache (a read): false, with
     * nothing reserved, when the cache is full of dirty blocks that cannot be written back.
     */
    boolean tryReserve(long n) throws NbdException {
        return reserveOrStuck(n) == null;
    }

    /** Reserves {@code n} slots; returns null, or (nothing reserved) the write-back failure that keeps the cache full. */
    private IOException reserveOrStuck(long n) throws NbdException {
        while (!space.tryReserve(n)) {
            Sweep result;
            sweeping.lock();
            try {
                if (space.tryReserve(n)) {
                    return null;
                }
                result = sweep(Math.min(space.lowMark(), space.capacity() - n));
            } finally {
                sweeping.unlock();
            }
            if (result.freed == 0) {
                if (result.failure != null) {
                    return result.failure;
                }
                pause();                                    // every cached block is in use: let those requests finish
            }
        }
        return null;
    }

    private static void pause() throws NbdException {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NbdException(NbdError.ESHUTDOWN, "cache: interrupted while waiting for space");
        }
    }

    private record Sweep(long freed, IOException failure) {
    }

    /** Moves the hand until the cache holds at most {@code target} blocks or two full turns are done. */
    private Sweep sweep(long target) {
        long n = g.blocks();
        long budget = 2 * n + 1;
        long freed = 0;
        IOException failure = null;
        while (space.used() > target && budget > 0) {
            long b = hand;
            int passed = 1;
            if (BlockStates.occupies(states.get(b)) && !states.clearUsed(b)) {
                try {
                    int evicted = evict(b);
                    freed += evicted;
                    passed = Math.max(1, evicted);
                } catch (IOException e) {
                    failure = e;
                }
            }
            budget -= passed;
            hand = (b + passed) % n;
        }
        return new Sweep(freed, failure);
    }

    /**
     * Takes block {@code b} out of the cache, unless it is in use; a dirty one is written back
     * first, together with the dirty, not recently used blocks right after it (one write below
     * instead of many). Returns how many blocks left the cache.
     */
    private int evict(long b) throws IOException {
        StampedLock lock = locks.of(b);
        long stamp = lock.tryWriteLock();
        if (stamp == 0) {
            return 0;                                       // in use right now
        }
        long[] more = new long[0];
        int count = 1;
        try {
            byte s = states.get(b);
            if (!BlockStates.occupies(s)) {
                return 0;
            }
            if (s == DIRTY) {
                more = new long[maxRun - 1];
                while (count < maxRun && b + count < g.blocks()) {
                    long next = lockIfIdleDirty(b + count);
                    if (next == 0) {
                        break;
                    }
                    more[count - 1] = next;
                    count++;
                }
                writeBack.runLocked(b, count, DIRTY);
            }
            if (!file.punch(g.start(b), g.end(b + count - 1) - g.start(b))) {
                return 0;                                   // its space is still taken: it stays, clean
            }
            for (long k = b; k < b + count; k++) {
                states.set(k, NOT_CACHED);
            }
            space.release(count);
            return count;
        } finally {
            for (int i = 0; i < count - 1; i++) {
                locks.of(b + 1 + i).unlockWrite(more[i]);
            }
            lock.unlockWrite(stamp);
        }
    }

    /** Write-locks a block that is dirty and was not used since the hand last passed; 0 if it is not such a block. */
    private long lockIfIdleDirty(long b) {
        if (states.get(b) != DIRTY || states.isUsed(b)) {
            return 0;
        }
        StampedLock lock = locks.of(b);
        long stamp = lock.tryWriteLock();
        if (stamp != 0 && (states.get(b) != DIRTY || states.isUsed(b))) {
            lock.unlockWrite(stamp);
            return 0;
        }
        return stamp;
    }
}
