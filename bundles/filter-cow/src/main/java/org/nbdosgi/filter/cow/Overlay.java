package org.nbdosgi.filter.cow;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntUnaryOperator;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Units;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.common.buffers.Zeros;

/**
 * The copy-on-write overlay of one export: the export cut into blocks, each either still the layer
 * below's ({@link #BELOW}), written here ({@link #DATA}, in the {@link OverlayFile} at its own
 * offset), or zeroed or trimmed here ({@link #ZERO}: reads zeros, stores nothing). A block never goes
 * back to BELOW, so the layer below is only read, never written.
 *
 * <p>Data plane, thread-safe, no global lock: whatever changes blocks (a write, a zero, a trim, a
 * copy from below) holds their locks (striped, taken in stripe order, so requests never deadlock),
 * and a write to part of a block that is not DATA yet reads the rest of the block from below (or
 * zeros) under that lock, so two writes to parts of one block never lose each other's bytes.
 * Reads take no lock: a block's state is published after its bytes are in the file.
 */
final class Overlay implements AutoCloseable {
    static final byte BELOW = 0;
    static final byte DATA = 1;
    static final byte ZERO = 2;

    private static final VarHandle STATE = MethodHandles.arrayElementVarHandle(byte[].class);
    private static final int STRIPES = 1024;
    /** The most bytes one copy from below moves (one request to the layer below). */
    private static final int MAX_RUN_BYTES = 8 << 20;
    /** The most blocks one block status request looks at. */
    private static final int MAX_EXTENT_BLOCKS = 1 << 16;
    /** How many of the largest scratch buffers the pool keeps. */
    private static final int POOLED = 4;

    private final long size;
    private final int blockSize;
    private final int shift;
    private final byte[] states;
    private final OverlayFile file;
    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];
    private final int maxRun;
    private final BufferPool scratch;

    private Overlay(long size, int blockSize, byte[] states, OverlayFile file) {
        this.size = size;
        this.blockSize = blockSize;
        this.shift = Integer.numberOfTrailingZeros(blockSize);
        this.states = states;
        this.file = file;
        this.maxRun = Math.max(1, Math.min(STRIPES, MAX_RUN_BYTES / blockSize));
        this.scratch = new BufferPool(blockSize, maxRun * blockSize, POOLED * (long) maxRun * blockSize, 1);
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    /** An empty overlay over {@code size} bytes. Control plane. */
    static Overlay create(java.nio.file.Path dir, long size, int blockSize) throws IOException {
        long blocks = (size + blockSize - 1) / blockSize;
        if (blocks > Integer.MAX_VALUE - 8 || blocks > Runtime.getRuntime().maxMemory() / 4) {
            throw new NbdException(NbdError.EINVAL, "cow: the export (" + Units.formatSize(size) + ") has too many blocks of "
                    + Units.formatSize(blockSize) + " to keep their states in memory: raise cow-block-size");
        }
        return new Overlay(size, blockSize, new byte[(int) blocks], OverlayFile.create(dir, size));
    }

    /** The overlay a predecessor handed over ({@link #state()}), or null if it does not fit this export. */
    static Overlay adopt(Object state, long size, int blockSize, java.nio.file.Path dir) {
        if (state instanceof Map<?, ?> m && m.get("states") instanceof byte[] s && m.get("file") instanceof java.nio.channels.FileChannel ch
                && Long.valueOf(size).equals(m.get("size")) && Integer.valueOf(blockSize).equals(m.get("blockSize"))) {
            return new Overlay(size, blockSize, s, OverlayFile.adopt(ch, dir));
        }
        return null;
    }

    /** The file of a handed-over overlay, to close when no successor adopts it. */
    static java.util.Optional<java.nio.channels.FileChannel> channelOf(Object state) {
        return state instanceof Map<?, ?> m && m.get("file") instanceof java.nio.channels.FileChannel ch
                ? java.util.Optional.of(ch) : java.util.Optional.empty();
    }

    /** What a successor needs to go on with the same overlay: JDK types only. */
    Map<String, Object> state() {
        return Map.of("size", size, "blockSize", blockSize, "states", states, "file", file.channel());
    }

    int blockSize() {
        return blockSize;
    }

    long size() {
        return size;
    }

    private long block(long offset) {
        return offset >>> shift;
    }

    private long start(long b) {
        return b << shift;
    }

    private long end(long b) {
        return Math.min(size, (b + 1) << shift);
    }

    byte state(long b) {
        return (byte) STATE.getAcquire(states, (int) b);
    }

    private void set(long b, byte s) {
        STATE.setRelease(states, (int) b, s);
    }

    // ---- reads

    /**
     * Fills {@code buf} with the export's bytes at {@code offset}: blocks of the overlay from the
     * file (or zeros), the others from {@code below}; with {@code keep} (cow-on-read) those are
     * copied into the overlay on the way.
     */
    void read(Handle below, ByteBuffer buf, long offset, boolean keep) throws IOException {
        long end = offset + buf.remaining();
        long pos = offset;
        while (pos < end) {
            long b = block(pos);
            long last = block(end - 1);
            boolean fromBelow = state(b) == BELOW;
            long e = runEnd(b, last, fromBelow);
            long stop = Math.min(end, end(e - 1));
            ByteBuffer part = slice(buf, offset, pos, stop);
            if (!fromBelow) {
                readOverlay(part, pos);
            } else if (keep) {
                copyUp(below, b, (int) (e - b), part, pos);
            } else {
                below.read(part, pos, 0);
            }
            pos = stop;
        }
    }

    /** Reads blocks of the overlay: DATA runs from the file in one call each, ZERO blocks as zeros. */
    private void readOverlay(ByteBuffer part, long at) throws IOException {
        long end = at + part.remaining();
        long pos = at;
        while (pos < end) {
            long b = block(pos);
            byte s = state(b);
            long stop = sameStateEnd(b, s, end);
            ByteBuffer dst = slice(part, at, pos, stop);
            if (s == ZERO) {
                Zeros.fill(dst);
            } else {
                file.read(dst, pos);
            }
            pos = stop;
        }
    }

    /**
     * Copies blocks [first, first + count) that are still the layer below's into the overlay (one
     * read below per run), under their locks, and copies what overlaps {@code client} (export offset
     * {@code clientOffset}; null for a prefetch) into it.
     */
    void copyUp(Handle below, long first, int count, ByteBuffer client, long clientOffset) throws IOException {
        lock(first, count);
        try {
            long b = first;
            long stop = first + count;
            while (b < stop) {
                if (state(b) != BELOW) {
                    if (client != null) {
                        long from = Math.max(start(b), clientOffset);
                        long to = Math.min(end(b), clientOffset + client.remaining());
                        readOverlay(slice(client, clientOffset, from, to), from);
                    }
                    b++;
                    continue;
                }
                long e = b + 1;
                while (e < stop && state(e) == BELOW) {
                    e++;
                }
                ByteBuffer tmp = scratch((int) (end(e - 1) - start(b)));
                try {
                    below.read(tmp, start(b), 0);
                    file.write(tmp.duplicate(), start(b));
                    for (long k = b; k < e; k++) {
                        set(k, DATA);
                    }
                    if (client != null) {
                        copyOverlap(tmp, start(b), client, clientOffset);
                    }
                } finally {
                    release(tmp);
                }
                b = e;
            }
        } finally {
            unlock(first, count);
        }
    }

    // ---- writes

    /** Writes {@code buf} at {@code offset} into the overlay; parts of blocks not in it yet are filled from below first. */
    void write(Handle below, ByteBuffer buf, long offset) throws IOException {
        long end = offset + buf.remaining();
        long pos = offset;
        while (pos < end) {
            long b = block(pos);
            long e = Math.min(block(end - 1) + 1, b + maxRun);
            long stop = Math.min(end, end(e - 1));
            lock(b, (int) (e - b));
            try {
                long direct = pos;
                long directEnd = stop;
                if ((pos > start(b) || stop < end(b)) && state(b) != DATA) {
                    mergeInto(below, b, slice(buf, offset, pos, Math.min(stop, end(b))), pos);
                    direct = Math.min(stop, end(b));
                }
                long lb = e - 1;
                if (lb != b && stop < end(lb) && state(lb) != DATA) {
                    mergeInto(below, lb, slice(buf, offset, start(lb), stop), start(lb));
                    directEnd = start(lb);
                }
                if (direct < directEnd) {
                    file.write(slice(buf, offset, direct, directEnd), direct);
                }
                for (long k = b; k < e; k++) {
                    set(k, DATA);
                }
            } finally {
                unlock(b, (int) (e - b));
            }
            pos = stop;
        }
    }

    /**
     * Block {@code b} (lock held, not DATA) with {@code data} (export offset {@code at}) written
     * over it: the rest of the block is the layer below's bytes, or zeros for a ZERO block.
     */
    private void mergeInto(Handle below, long b, ByteBuffer data, long at) throws IOException {
        ByteBuffer tmp = scratch((int) (end(b) - start(b)));
        try {
            if (state(b) == ZERO) {
                Zeros.fill(tmp.duplicate());
            } else {
                below.read(tmp, start(b), 0);
            }
            copyOverlap(data, at, tmp, start(b));
            file.write(tmp, start(b));
        } finally {
            release(tmp);
        }
    }

    /**
     * Zeroes a range: whole blocks become ZERO (nothing stored, nothing read from below); parts of
     * blocks are written with zeros. With {@link Flags#FAST_ZERO}, a part of a block not yet in the
     * overlay would need a read below, so the request fails at once with ENOTSUP.
     */
    void zero(Handle below, long offset, long length, int flags) throws IOException {
        if (length == 0) {
            return;
        }
        long end = offset + length;
        if (Flags.has(flags, Flags.FAST_ZERO) && (partialNeedsBelow(offset, end, block(offset))
                || partialNeedsBelow(offset, end, block(end - 1)))) {
            throw new NbdException(NbdError.ENOTSUP, "cow: zeroing part of a block not in the overlay is not fast");
        }
        forWholeAndPartialBlocks(offset, end, ZERO, (b, from, to) -> {
            switch (state(b)) {
                case ZERO -> { }
                case DATA -> file.write(zeros((int) (to - from)), from);
                default -> mergeInto(below, b, zeros((int) (to - from)), from);
            }
            set(b, state(b) == ZERO ? ZERO : DATA);
        });
    }

    private boolean partialNeedsBelow(long offset, long end, long b) {
        return (offset > start(b) || end < end(b)) && state(b) == BELOW;
    }

    /** Trim: whole blocks become ZERO (their bytes are dropped); parts of blocks are left alone (trim is advisory). */
    void trim(long offset, long length) throws IOException {
        forWholeAndPartialBlocks(offset, offset + length, ZERO, (b, from, to) -> { });
    }

    private interface PartialBlock {
        void apply(long block, long from, long to) throws IOException;
    }

    /** Sets whole blocks of [offset, end) to {@code whole} and hands the partial ones to {@code partial}, under their locks. */
    private void forWholeAndPartialBlocks(long offset, long end, byte whole, PartialBlock partial) throws IOException {
        long pos = offset;
        while (pos < end) {
            long b = block(pos);
            long e = Math.min(block(end - 1) + 1, b + maxRun);
            long stop = Math.min(end, end(e - 1));
            lock(b, (int) (e - b));
            try {
                for (long k = b; k < e; k++) {
                    long from = Math.max(pos, start(k));
                    long to = Math.min(stop, end(k));
                    if (from == start(k) && to == end(k)) {
                        set(k, whole);
                    } else {
                        partial.apply(k, from, to);
                    }
                }
            } finally {
                unlock(b, (int) (e - b));
            }
            pos = stop;
        }
    }

    // ---- block status and prefetch

    /**
     * Blocks of the overlay are data (DATA) or holes reading as zeros (ZERO); runs of blocks still
     * below are described by the layer below.
     */
    void extents(Handle below, long offset, long length, int flags, Extents out) throws IOException {
        describe(below, offset, length, flags, out, type -> type, state -> state == DATA ? 0 : Extents.HOLE | Extents.ZERO);
    }

    /**
     * qemu:allocation-depth: 1 where the overlay holds the block (written, zeroed or trimmed in this
     * session), 2 where the layer below has data, 0 where the layer below has a hole.
     */
    void allocationDepth(Handle below, long offset, long length, int flags, Extents out) throws IOException {
        describe(below, offset, length, flags, out, type -> (type & Extents.HOLE) != 0 ? 0 : 2, state -> 1);
    }

    /** Runs of one state: the layer below's extents (their type mapped) where blocks are still below, else the overlay's state mapped. */
    private void describe(Handle below, long offset, long length, int flags, Extents out, IntUnaryOperator belowType,
                          IntUnaryOperator overlayType) throws IOException {
        if (length == 0) {
            return;
        }
        long end = Math.min(offset + length, end(Math.min(block(offset + length - 1), block(offset) + MAX_EXTENT_BLOCKS - 1)));
        long pos = offset;
        while (pos < end && !out.isFull()) {
            long b = block(pos);
            byte s = state(b);
            long stop = sameStateEnd(b, s, end);
            if (s == BELOW) {
                Extents there = new Extents(pos, stop);
                below.extents(pos, stop - pos, flags, there);
                for (int i = 0; i < there.count(); i++) {
                    out.add(there.offset(i), there.length(i), belowType.applyAsInt(there.type(i)));
                }
                if (there.covered() < stop) {
                    return;                                  // the layer below said less: so do we
                }
            } else {
                out.add(pos, stop - pos, overlayType.applyAsInt(s));
            }
            if (Flags.has(flags, Flags.REQ_ONE)) {
                return;
            }
            pos = stop;
        }
    }

    /** NBD_CMD_CACHE: with {@code keep}, the blocks still below are copied into the overlay; else the layer below is asked to prefetch them. */
    void cache(Handle below, long offset, long length, boolean keep) throws IOException {
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            long b = block(pos);
            long last = block(end - 1);
            if (state(b) != BELOW) {
                pos = Math.min(end, end(b));
                continue;
            }
            long e = runEnd(b, last, true);
            if (keep) {
                copyUp(below, b, (int) (e - b), null, 0);
            } else {
                below.cache(Math.max(pos, start(b)), Math.min(end, end(e - 1)) - Math.max(pos, start(b)), 0);
            }
            pos = Math.min(end, end(e - 1));
        }
    }

    // ---- runs of blocks

    /** The block after the run from {@code b} (at most to {@code last}, at most a run long) of blocks still below, or of blocks not. */
    private long runEnd(long b, long last, boolean belowRun) {
        long e = b + 1;
        while (e <= last && e - b < maxRun && (state(e) == BELOW) == belowRun) {
            e++;
        }
        return e;
    }

    /** Where the blocks from {@code b} stop being in state {@code s}, at most {@code end}. */
    private long sameStateEnd(long b, byte s, long end) {
        long stop = end(b);
        while (stop < end && state(block(stop)) == s) {
            stop = end(block(stop));
        }
        return Math.min(stop, end);
    }

    // ---- locks and buffers

    /** Locks the stripes of blocks [first, first + count) (count <= STRIPES, so all distinct) in stripe order. */
    private void lock(long first, int count) {
        int s = (int) (first % STRIPES);
        if (s + count <= STRIPES) {
            for (int i = s; i < s + count; i++) {
                locks[i].lock();
            }
        } else {
            for (int i = 0; i < s + count - STRIPES; i++) {
                locks[i].lock();
            }
            for (int i = s; i < STRIPES; i++) {
                locks[i].lock();
            }
        }
    }

    private void unlock(long first, int count) {
        for (int i = 0; i < count; i++) {
            locks[(int) ((first + i) % STRIPES)].unlock();
        }
    }

    /** A direct buffer of {@code n} bytes (position 0, limit n), pooled: at most a run of blocks. */
    private ByteBuffer scratch(int n) {
        return scratch.acquire(n);
    }

    private void release(ByteBuffer b) {
        scratch.release(b);
    }

    private static ByteBuffer zeros(int n) {
        return n <= Zeros.CHUNK ? Zeros.slice(n) : ByteBuffer.allocate(n);
    }

    /** Copies the overlap of {@code src} (export offset {@code srcAt}) into {@code dst} (export offset {@code dstAt}). */
    private static void copyOverlap(ByteBuffer src, long srcAt, ByteBuffer dst, long dstAt) {
        long from = Math.max(srcAt, dstAt);
        long to = Math.min(srcAt + src.remaining(), dstAt + dst.remaining());
        if (from < to) {
            dst.put(dst.position() + (int) (from - dstAt), src, src.position() + (int) (from - srcAt), (int) (to - from));
        }
    }

    /** The part of {@code buf} (export offset {@code bufAt} at its position) for [from, to). */
    private static ByteBuffer slice(ByteBuffer buf, long bufAt, long from, long to) {
        return buf.slice(buf.position() + (int) (from - bufAt), (int) (to - from));
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
