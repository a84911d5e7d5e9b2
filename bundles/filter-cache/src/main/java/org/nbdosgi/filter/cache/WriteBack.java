package org.nbdosgi.filter.cache;

import static org.nbdosgi.filter.cache.BlockStates.CLEAN;
import static org.nbdosgi.filter.cache.BlockStates.DIRTY;
import static org.nbdosgi.filter.cache.BlockStates.NOT_CACHED;
import static org.nbdosgi.filter.cache.BlockStates.ZERO;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Units;
import org.nbdosgi.common.buffers.BufferPool;

/**
 * Brings what the layer below has not seen yet to it: dirty data as writes, zeroed blocks as zero
 * requests, trimmed blocks as trims, coalesced into runs of consecutive blocks. A block stays dirty
 * until the layer below has accepted it, and for a flush until the layer below has flushed it, so
 * neither a failed write-back nor a failed flush loses anything. Data plane: flush and FUA,
 * reclaim, and the export's stop.
 */
final class WriteBack {
    private final Geometry g;
    private final BlockStates states;
    private final BlockLocks locks;
    private final CacheFile file;
    private final Lower lower;
    private final BufferPool scratch;
    private final int maxDataRun;

    WriteBack(Geometry g, BlockStates states, BlockLocks locks, CacheFile file, Lower lower, BufferPool scratch, int maxDataRun) {
        this.g = g;
        this.states = states;
        this.locks = locks;
        this.file = file;
        this.lower = lower;
        this.scratch = scratch;
        this.maxDataRun = maxDataRun;
    }

    /** Blocks [first, first + count) that {@link #all} wrote back. */
    record Written(long first, int count) {
    }

    /**
     * Writes back blocks [first, first + count), which all have the dirty state {@code state}, with
     * their locks held exclusively by the caller. Afterwards dirty data is clean (still cached),
     * zeroed and trimmed blocks are no longer cached.
     */
    void runLocked(long first, int count, byte state) throws IOException {
        send(first, count, state);
        for (long b = first; b < first + count; b++) {
            states.set(b, cleaned(state));
        }
    }

    /** What a block in dirty state {@code state} becomes once the layer below has it. */
    private static byte cleaned(byte state) {
        return state == DIRTY ? CLEAN : NOT_CACHED;
    }

    /** The request that gives the layer below blocks [first, first + count) in dirty state {@code state} (locks held). */
    private void send(long first, int count, byte state) throws IOException {
        long from = g.start(first);
        long to = g.end(first + count - 1);
        if (state == DIRTY) {
            ByteBuffer buf = scratch.acquire((int) (to - from));
            try {
                file.read(buf.duplicate(), from);
                lower.write(buf, from, 0);
            } finally {
                scratch.release(buf);
            }
        } else if (state == ZERO) {
            lower.zero(from, to - from, 0);
        } else {
            lower.trim(from, to - from, 0);
        }
    }

    /**
     * Writes back every dirty block, for a flush: the blocks stay dirty, marked written back,
     * until {@link #settle} is told the flush below succeeded. Runs that fail are still tried
     * after; the first failure is then thrown, with how many blocks are still dirty.
     *
     * @return the runs written back
     */
    List<Written> all() throws IOException {
        List<Written> written = new ArrayList<>();
        if (states.dirtyBlocks() == 0) {
            return written;
        }
        IOException first = null;
        long b = 0;
        while (b < g.blocks()) {
            byte s = states.get(b);
            if (!BlockStates.isDirty(s)) {
                b++;
                continue;
            }
            long limit = s == DIRTY ? maxDataRun : locks.stripes();
            long e = b + 1;
            while (e < g.blocks() && e - b < limit && states.get(e) == s) {
                e++;
            }
            try {
                lockedRuns(b, (int) (e - b), written);
            } catch (IOException ex) {
                if (first == null) {
                    first = ex;
                }
            }
            b = e;
        }
        if (first != null) {
            long left = states.dirtyBlocks();
            throw new NbdException(NbdException.errorOf(first), "cache: writing back to the layer below failed, "
                    + left + " blocks (" + Units.formatSize(left * g.blockSize()) + ") stay dirty: " + first.getMessage(), first);
        }
        return written;
    }

    /**
     * The flush below succeeded: the blocks {@link #all} wrote back leave the dirty states, except
     * those changed since (their mark is gone), which the next flush writes again.
     */
    void settle(List<Written> written) {
        for (Written r : written) {
            try (BlockLocks.Run run = locks.lockRun(r.first(), r.count())) {
                for (long b = r.first(); b < r.first() + r.count(); b++) {
                    if (states.isWrittenBack(b)) {
                        states.set(b, cleaned(states.get(b)));
                    }
                }
            }
        }
    }

    /** Locks [first, first + count), writes back whatever is still dirty there, by runs of one state, and marks it written back. */
    private void lockedRuns(long first, int count, List<Written> written) throws IOException {
        try (BlockLocks.Run run = locks.lockRun(first, count)) {
            long b = first;
            long stop = first + count;
            while (b < stop) {
                byte s = states.get(b);
                long e = b + 1;
                while (e < stop && states.get(e) == s) {
                    e++;
                }
                if (BlockStates.isDirty(s)) {
                    send(b, (int) (e - b), s);
                    for (long k = b; k < e; k++) {
                        states.markWrittenBack(k);
                    }
                    written.add(new Written(b, (int) (e - b)));
                }
                b = e;
            }
        }
    }
}
