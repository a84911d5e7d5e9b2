package org.nbdosgi.filter.cache;

import static org.nbdosgi.filter.cache.BlockStates.CLEAN;
import static org.nbdosgi.filter.cache.BlockStates.DIRTY;
import static org.nbdosgi.filter.cache.BlockStates.NOT_CACHED;
import static org.nbdosgi.filter.cache.BlockStates.TRIMMED;
import static org.nbdosgi.filter.cache.BlockStates.ZERO;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Units;
import org.nbdosgi.common.buffers.Zeros;

/**
 * Write, zero and trim on a {@link BlockCache}. "Through" requests (every one in writethrough mode;
 * FUA ones in writeback mode) reach the layer below before they are acknowledged, and the cache is
 * updated under the same block locks, so the two never disagree. The others (writeback without FUA,
 * unsafe) change the cache only: written blocks become dirty (a partial write into a block not
 * cached reads the block from below first), zeroed and trimmed whole blocks are marked so and take
 * no space. Data plane.
 */
final class CacheWrites {
    private final BlockCache c;
    private final Geometry g;
    private final BlockStates states;

    CacheWrites(BlockCache cache) {
        this.c = cache;
        this.g = cache.g;
        this.states = cache.states;
    }

    private boolean through(int flags) {
        CacheMode mode = c.options.mode();
        return mode == CacheMode.WRITETHROUGH || (mode == CacheMode.WRITEBACK && Flags.has(flags, Flags.FUA));
    }

    // ---- write

    void write(ByteBuffer buf, long offset, int flags) throws IOException {
        boolean through = through(flags);
        long end = offset + buf.remaining();
        long pos = offset;
        while (pos < end) {
            long first = g.block(pos);
            long stopBlock = Math.min(g.block(end - 1) + 1, first + c.maxRun);
            long stop = Math.min(end, g.start(stopBlock));
            ByteBuffer part = BlockCache.slice(buf, offset, pos, stop);
            if (through) {
                writeThrough(part, pos, first, (int) (stopBlock - first), flags & Flags.FUA);
            } else {
                writeCached(part, pos, first, (int) (stopBlock - first));
            }
            pos = stop;
        }
    }

    /**
     * Writes to the layer below, then updates the cache: whole blocks are cached clean (when there
     * is room without waiting), partly written blocks are updated where cached.
     */
    private void writeThrough(ByteBuffer src, long pos, long first, int count, int lowerFlags) throws IOException {
        long end = pos + src.remaining();
        long wanted = 0;
        for (long b = first; b < first + count; b++) {
            if (g.covers(pos, end, b) && !BlockStates.occupies(states.get(b))) {
                wanted++;
            }
        }
        long reserved = c.space.tryReserve(wanted) ? wanted : 0;
        try (BlockLocks.Run run = c.locks.lockRun(first, count)) {
            settlePartial(first, pos, end);
            settlePartial(first + count - 1, pos, end);
            c.lower.write(src, pos, lowerFlags);
            for (long b = first; b < first + count; b++) {
                byte s = states.get(b);
                long from = Math.max(pos, g.start(b));
                ByteBuffer piece = BlockCache.slice(src, pos, from, Math.min(end, g.end(b)));
                if (g.covers(pos, end, b)) {
                    if (BlockStates.occupies(s) || reserved > 0) {
                        c.file.write(piece, from);
                        if (!BlockStates.occupies(s)) {
                            reserved--;
                        }
                        states.set(b, CLEAN);
                        states.touch(b);
                    } else if (s != NOT_CACHED) {
                        states.set(b, NOT_CACHED);         // zeroed or trimmed, now overwritten below
                    }
                } else if (BlockStates.occupies(s)) {
                    c.file.write(piece, from);
                    states.touch(b);
                }
            }
        } finally {
            c.space.release(reserved);
        }
        c.reclaimer.maybeReclaim();
    }

    /**
     * Before a partial write or zero goes below: a block zeroed or trimmed only in the cache gets
     * that done below first, then leaves the cache, so the later write-back cannot undo the request.
     */
    private void settlePartial(long b, long from, long to) throws IOException {
        byte s = states.get(b);
        if (!g.covers(from, to, b) && (s == ZERO || s == TRIMMED)) {
            c.writeBack.runLocked(b, 1, s);
        }
    }

    /** Writes into the cache only; every block touched becomes dirty. */
    private void writeCached(ByteBuffer src, long pos, long first, int count) throws IOException {
        long end = pos + src.remaining();
        long reserved = 0;
        try {
            while (true) {
                long needed = notOccupying(first, count);
                if (needed > reserved) {
                    c.space.release(reserved);              // never wait for space while holding some
                    reserved = 0;
                    c.reclaimer.reserve(needed);
                    reserved = needed;
                }
                try (BlockLocks.Run run = c.locks.lockRun(first, count)) {
                    if (notOccupying(first, count) > reserved) {
                        continue;                           // blocks were reclaimed meanwhile: reserve more first
                    }
                    for (long b = first; b < first + count; b++) {
                        byte s = states.get(b);
                        long from = Math.max(pos, g.start(b));
                        ByteBuffer piece = BlockCache.slice(src, pos, from, Math.min(end, g.end(b)));
                        if (BlockStates.occupies(s) || g.covers(pos, end, b)) {
                            c.file.write(piece, from);
                        } else {
                            writeWholeBlock(b, s, piece, from);
                        }
                        if (!BlockStates.occupies(s)) {
                            reserved--;
                        }
                        states.set(b, DIRTY);
                        states.touch(b);
                    }
                    break;
                }
            }
        } finally {
            c.space.release(reserved);
        }
        c.reclaimer.maybeReclaim();
    }

    private long notOccupying(long first, int count) {
        long n = 0;
        for (long b = first; b < first + count; b++) {
            if (!BlockStates.occupies(states.get(b))) {
                n++;
            }
        }
        return n;
    }

    /** Read-modify-write of a block not in the cache file: its data from below (or zeros), the new bytes over it. */
    private void writeWholeBlock(long b, byte s, ByteBuffer piece, long from) throws IOException {
        ByteBuffer whole = c.scratch.acquire(g.length(b));
        try {
            if (s == NOT_CACHED) {
                c.lower.read(whole, g.start(b));
            } else {
                Zeros.fill(whole);
            }
            whole.put((int) (from - g.start(b)), piece, piece.position(), piece.remaining());
            c.file.write(whole.duplicate(), g.start(b));
        } finally {
            c.scratch.release(whole);
        }
    }

    // ---- zero

    void zero(long offset, long length, int flags) throws IOException {
        long end = offset + length;
        boolean through = through(flags);
        if (Flags.has(flags, Flags.FAST_ZERO)) {
            if (through ? !c.lower.canFastZero() : !alignedToBlocks(offset, end)) {
                throw new NbdException(NbdError.ENOTSUP, through ? "cache: the layer below cannot zero fast"
                        : "cache: only whole cache blocks of " + Units.formatSize(g.blockSize()) + " are zeroed fast");
            }
        }
        if (through) {
            forRuns(offset, end, (from, to, first, count) -> zeroThrough(from, to, first, count, flags));
            return;
        }
        long head = g.block(offset);
        long pos = offset;
        if (!g.covers(offset, end, head)) {                    // a partial first block: read-modify-write
            pos = Math.min(end, g.end(head));
            zeroCachedPartly(offset, pos);
        }
        long tail = g.block(end - 1);
        long wholeEnd = pos < end && !g.covers(pos, end, tail) ? g.start(tail) : end;
        forRuns(pos, wholeEnd, (from, to, first, count) -> mark(first, count, ZERO));
        if (wholeEnd < end) {
            zeroCachedPartly(wholeEnd, end);
        }
    }

    private boolean alignedToBlocks(long from, long to) {
        return from % g.blockSize() == 0 && (to % g.blockSize() == 0 || to == g.size());
    }

    private void zeroCachedPartly(long from, long to) throws IOException {
        while (from < to) {
            ByteBuffer zeros = Zeros.slice((int) Math.min(to - from, Integer.MAX_VALUE));
            long stop = from + zeros.remaining();
            writeCached(zeros, from, g.block(from), (int) (g.block(stop - 1) - g.block(from) + 1));
            from = stop;
        }
    }

    private void zeroThrough(long from, long to, long first, int count, int flags) throws IOException {
        try (BlockLocks.Run run = c.locks.lockRun(first, count)) {
            settleTrimmed(first, from, to);
            settleTrimmed(first + count - 1, from, to);
            c.lower.zero(from, to - from, flags);
            for (long b = first; b < first + count; b++) {
                byte s = states.get(b);
                if (g.covers(from, to, b)) {
                    drop(b, s);
                } else if (BlockStates.occupies(s)) {
                    long f = Math.max(from, g.start(b));
                    c.file.writeZeros(f, Math.min(to, g.end(b)) - f);
                }
            }
        }
    }

    /** A partly zeroed block still trimmed only in the cache: the trim goes below first, or its write-back would undo the zeros. */
    private void settleTrimmed(long b, long from, long to) throws IOException {
        if (!g.covers(from, to, b) && states.get(b) == TRIMMED) {
            c.writeBack.runLocked(b, 1, TRIMMED);
        }
    }

    // ---- trim

    /** Only whole cache blocks are trimmed; the ragged ends are left alone (trim is advisory). */
    void trim(long offset, long length, int flags) throws IOException {
        long end = offset + length;
        long from = (offset + g.blockSize() - 1) / g.blockSize() * g.blockSize();
        long to = end == g.size() ? end : end / g.blockSize() * g.blockSize();
        if (from >= to) {
            return;
        }
        if (through(flags)) {
            forRuns(from, to, (f, t, first, count) -> {
                try (BlockLocks.Run run = c.locks.lockRun(first, count)) {
                    for (long b = first; b < first + count; b++) {
                        drop(b, states.get(b));
                    }
                    c.lower.trim(f, t - f, flags & Flags.FUA);
                }
            });
        } else {
            forRuns(from, to, (f, t, first, count) -> mark(first, count, TRIMMED));
        }
    }

    // ---- helpers

    private interface RunAction {
        void run(long from, long to, long first, int count) throws IOException;
    }

    /** Calls {@code action} for [from, to) in pieces of at most one lock run of blocks. */
    private void forRuns(long from, long to, RunAction action) throws IOException {
        long pos = from;
        while (pos < to) {
            long first = g.block(pos);
            long stopBlock = Math.min(g.block(to - 1) + 1, first + c.locks.stripes());
            long stop = Math.min(to, g.start(stopBlock));
            action.run(pos, stop, first, (int) (stopBlock - first));
            pos = stop;
        }
    }

    /** Whole blocks zeroed or trimmed in the cache only: their data (if any) is punched out. */
    private void mark(long first, int count, byte state) {
        try (BlockLocks.Run run = c.locks.lockRun(first, count)) {
            for (long b = first; b < first + count; b++) {
                if (BlockStates.occupies(states.get(b)) && c.file.punch(g.start(b), g.length(b))) {
                    c.space.release(1);                     // a block whose punch failed still takes its space
                }
                states.set(b, state);
            }
        }
    }

    /** A block the layer below now has in full (lock held): it leaves the cache. */
    private void drop(long b, byte s) {
        if (BlockStates.occupies(s) && c.file.punch(g.start(b), g.length(b))) {
            c.space.release(1);                             // a block whose punch failed still takes its space
        }
        if (s != NOT_CACHED) {
            states.set(b, NOT_CACHED);
        }
    }
}
