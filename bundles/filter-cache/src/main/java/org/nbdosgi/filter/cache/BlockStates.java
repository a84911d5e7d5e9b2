package org.nbdosgi.filter.cache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the cache holds for each block, a "recently used" mark per block for reclaim, and a
 * "written back" mark per block for flush. A state changes only under the block's exclusive lock
 * ({@link BlockLocks}); it is read under the block's lock to act on it, or without a lock as a hint
 * that the caller checks again under the lock. Release/acquire accesses keep those hints honest
 * across threads. Data plane.
 */
final class BlockStates {
    /** Not in the cache: the layer below has the block's data. */
    static final byte NOT_CACHED = 0;
    /** In the cache file, the same as in the layer below. */
    static final byte CLEAN = 1;
    /** In the cache file, newer than the layer below. */
    static final byte DIRTY = 2;
    /** Zeroed, not yet in the layer below: reads zeros, takes no space, written back as a zero request. */
    static final byte ZERO = 3;
    /** Trimmed, not yet in the layer below: reads zeros, takes no space, written back as a trim request. */
    static final byte TRIMMED = 4;

    private static final VarHandle AT = MethodHandles.arrayElementVarHandle(byte[].class);

    private final byte[] states;
    private final byte[] used;
    private final byte[] writtenBack;
    private final AtomicLong dirty = new AtomicLong();

    BlockStates(int blocks) {
        states = new byte[blocks];
        used = new byte[blocks];
        writtenBack = new byte[blocks];
    }

    /** Data in the cache file, counted against cache-max-size. */
    static boolean occupies(byte state) {
        return state == CLEAN || state == DIRTY;
    }

    /** Something the layer below has not seen yet. */
    static boolean isDirty(byte state) {
        return state >= DIRTY;
    }

    /** Reads as zeros without touching the cache file. */
    static boolean readsZeros(byte state) {
        return state == ZERO || state == TRIMMED;
    }

    byte get(long block) {
        return (byte) AT.getAcquire(states, (int) block);
    }

    /** Under the block's exclusive lock; clears the written-back mark (the block changed). Returns the previous state. */
    byte set(long block, byte state) {
        byte old = get(block);
        if (isDirty(old) != isDirty(state)) {
            dirty.addAndGet(isDirty(state) ? 1 : -1);
        }
        AT.setRelease(writtenBack, (int) block, (byte) 0);
        AT.setRelease(states, (int) block, state);
        return old;
    }

    /**
     * Under the block's exclusive lock: the layer below accepted what this dirty block holds, but
     * has not flushed it yet. The block stays dirty until a flush below succeeds; any later
     * {@link #set} clears the mark, so a block changed meanwhile stays dirty after that flush.
     */
    void markWrittenBack(long block) {
        AT.setRelease(writtenBack, (int) block, (byte) 1);
    }

    boolean isWrittenBack(long block) {
        return (byte) AT.getAcquire(writtenBack, (int) block) != 0;
    }

    /** Marks the block recently used (a plain store: a lost mark only makes reclaim pick it sooner). */
    void touch(long block) {
        if (used[(int) block] == 0) {
            used[(int) block] = 1;
        }
    }

    boolean isUsed(long block) {
        return used[(int) block] != 0;
    }

    /** Clears the mark; returns whether it was set (the block's second chance). */
    boolean clearUsed(long block) {
        if (used[(int) block] == 0) {
            return false;
        }
        used[(int) block] = 0;
        return true;
    }

    /** Blocks the layer below has not seen yet (dirty, zeroed or trimmed). */
    long dirtyBlocks() {
        return dirty.get();
    }

    long blocks() {
        return states.length;
    }
}
