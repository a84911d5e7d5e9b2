package org.nbdosgi.filter.cache;

import java.util.concurrent.locks.StampedLock;

/**
 * Per-block locks, striped: block {@code b} uses lock {@code b mod stripes}. Readers of a cached
 * block share its lock; whatever changes a block's state or its data in the cache file holds it
 * exclusively. A run of up to {@link #stripes()} consecutive blocks is locked in ascending stripe
 * order, so two runs can never wait for each other in a cycle. Nobody waits for reclaim or for a
 * space reservation while holding a lock. Data plane.
 */
final class BlockLocks {
    private static final int MAX_STRIPES = 1024;

    private final StampedLock[] stripes;
    private final int mask;

    BlockLocks(long blocks) {
        int n = (int) Math.min(MAX_STRIPES, Long.highestOneBit(Math.max(1, blocks - 1)) << 1);
        stripes = new StampedLock[n];
        for (int i = 0; i < n; i++) {
            stripes[i] = new StampedLock();
        }
        mask = n - 1;
    }

    /** The longest run {@link #lockRun} takes. */
    int stripes() {
        return stripes.length;
    }

    StampedLock of(long block) {
        return stripes[(int) (block & mask)];
    }

    /** Locks blocks [first, first + count) exclusively; count is at most {@link #stripes()}. */
    Run lockRun(long first, int count) {
        if (count > stripes.length) {
            throw new IllegalArgumentException("a run of " + count + " blocks is longer than " + stripes.length);
        }
        Run run = new Run(first, count);
        run.forEachStripe(s -> stripes[s].asWriteLock().lock());
        return run;
    }

    /** A locked run of blocks; {@link #close()} unlocks it. */
    final class Run implements AutoCloseable {
        private final int firstStripe;
        private final int count;

        private Run(long first, int count) {
            this.firstStripe = (int) (first & mask);
            this.count = count;
        }

        private void forEachStripe(java.util.function.IntConsumer action) {
            int wrapped = firstStripe + count - stripes.length;     // stripes past the end start again at 0
            for (int s = 0; s < wrapped; s++) {
                action.accept(s);
            }
            for (int s = firstStripe; s < Math.min(stripes.length, firstStripe + count); s++) {
                action.accept(s);
            }
        }

        @Override
        public void close() {
            forEachStripe(s -> stripes[s].asWriteLock().unlock());
        }
    }
}
