package org.nbdosgi.filter.cbt;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Units;

/**
 * One named dirty bitmap: a bit per block of {@code granularity} bytes, set when a write, zero or
 * trim touches the block, cleared all at once. Sparse and blind to the export's size: the bits live
 * in chunks of 2^18, allocated when a block in them is first marked and kept in order, so a bitmap
 * over an untouched 8 EiB export costs nothing and a scan skips from one marked chunk to the next. An inconsistent bitmap (the server stopped without saving it, or the
 * filter was removed while the export went on) reports every block dirty until it is cleared.
 *
 * <p>Data plane: {@link #mark} is lock-free (an atomic OR, skipped when the bits are set already);
 * {@link #clear} swaps in an empty table, so a write racing with a clear may be marked in either.
 */
final class DirtyBitmap {
    /** Longs per chunk: 2^12, so 2^18 bits (32 KiB). */
    private static final int CHUNK_WORDS = 1 << 12;
    private static final long BLOCKS_PER_CHUNK = CHUNK_WORDS * 64L;
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int MAGIC = 0x4E424342;                 // "NBCB"
    private static final int VERSION = 1;
    /** Persisted flag: the bitmap is in use by a running export (a crash leaves it set). */
    static final int IN_USE = 1;
    /** Persisted flag: some writes may be missing. */
    static final int INCONSISTENT = 2;

    static final int MIN_GRANULARITY = 512;
    static final int MAX_GRANULARITY = 1 << 30;
    static final int DEFAULT_GRANULARITY = 64 * 1024;

    private final String name;
    private final int shift;
    private volatile ConcurrentSkipListMap<Long, long[]> chunks = new ConcurrentSkipListMap<>();
    private volatile boolean consistent;

    DirtyBitmap(String name, int granularity, boolean consistent) {
        if (Integer.bitCount(granularity) != 1 || granularity < MIN_GRANULARITY || granularity > MAX_GRANULARITY) {
            throw new IllegalArgumentException("granularity must be a power of 2 from " + Units.formatSize(MIN_GRANULARITY)
                    + " to " + Units.formatSize(MAX_GRANULARITY) + ", not " + granularity);
        }
        this.name = name;
        this.shift = Integer.numberOfTrailingZeros(granularity);
        this.consistent = consistent;
    }

    String name() {
        return name;
    }

    int granularity() {
        return 1 << shift;
    }

    boolean consistent() {
        return consistent;
    }

    /** From now on every block reads as dirty, until {@link #clear}. */
    void markInconsistent() {
        consistent = false;
    }

    /** Marks every block that {@code [offset, offset + length)} touches. Data plane. */
    void mark(long offset, long length) {
        if (length <= 0) {
            return;
        }
        long first = offset >>> shift;
        long last = (offset + length - 1) >>> shift;
        ConcurrentSkipListMap<Long, long[]> table = chunks;
        for (long w = first >>> 6; w <= last >>> 6; w++) {
            long mask = -1L;
            if (w == first >>> 6) {
                mask &= -1L << (first & 63);
            }
            if (w == last >>> 6) {
                mask &= -1L >>> (63 - (last & 63));
            }
            long[] chunk = table.computeIfAbsent(w / CHUNK_WORDS, k -> new long[CHUNK_WORDS]);
            int i = (int) (w % CHUNK_WORDS);
            if (((long) WORD.getOpaque(chunk, i) & mask) != mask) {
                WORD.getAndBitwiseOr(chunk, i, mask);
            }
        }
    }

    /** Every block clean again, and the bitmap consistent: it tracks writes from now on. */
    void clear() {
        chunks = new ConcurrentSkipListMap<>();
        consistent = true;
    }

    /** Dirty blocks right now. */
    long dirtyBlocks() {
        long n = 0;
        for (long[] chunk : chunks.values()) {
            for (int i = 0; i < CHUNK_WORDS; i++) {
                n += Long.bitCount((long) WORD.getOpaque(chunk, i));
            }
        }
        return n;
    }

    private static boolean isDirty(Map<Long, long[]> table, long block) {
        long w = block >>> 6;
        long[] chunk = table.get(w / CHUNK_WORDS);
        return chunk != null && ((long) WORD.getOpaque(chunk, (int) (w % CHUNK_WORDS)) & (1L << (block & 63))) != 0;
    }

    /**
     * The first block after {@code from} whose bit is not {@code dirty}, or {@code limit}: a word at a
     * time, and from a clean stretch straight to the next chunk ever marked.
     */
    private static long nextChange(NavigableMap<Long, long[]> table, long from, boolean dirty, long limit) {
        long b = from + 1;
        while (b < limit) {
            long w = b >>> 6;
            long[] chunk = table.get(w / CHUNK_WORDS);
            if (chunk == null) {
                if (dirty) {
                    return b;
                }
                Long next = table.higherKey(w / CHUNK_WORDS);               // never marked up to there: all clean
                if (next == null || next > limit / BLOCKS_PER_CHUNK) {
                    return limit;
                }
                b = next * BLOCKS_PER_CHUNK;
                continue;
            }
            long word = (long) WORD.getOpaque(chunk, (int) (w % CHUNK_WORDS));
            long differs = (dirty ? ~word : word) & (-1L << (b & 63));
            if (differs != 0) {
                return Math.min(limit, (w << 6) + Long.numberOfTrailingZeros(differs));
            }
            b = (w + 1) << 6;
        }
        return limit;
    }

    /**
     * Describes the blocks from {@code offset} in runs of {@link Extents#DIRTY} and 0, up to the run
     * that covers {@code offset + length} (or one run with {@code reqOne}, or until {@code out} is full
     * or ends). Data plane.
     */
    void extents(long offset, long length, boolean reqOne, Extents out) throws NbdException {
        if (!consistent) {
            out.add(offset, out.end() - offset, Extents.DIRTY);
            return;
        }
        NavigableMap<Long, long[]> table = chunks;
        long end = out.end();
        long stop = Math.min(end, offset + length);
        long limit = ((end - 1) >>> shift) + 1;
        long block = offset >>> shift;
        boolean dirty = isDirty(table, block);
        long runStart = offset;
        while (true) {
            long change = nextChange(table, block, dirty, limit);
            long runEnd = change >= limit ? end : change << shift;
            out.add(runStart, runEnd - runStart, dirty ? Extents.DIRTY : 0);
            if (reqOne || runEnd >= stop || out.isFull()) {
                return;
            }
            runStart = runEnd;
            block = change;
            dirty = !dirty;
        }
    }

    /** The bitmap as persisted: header, flags (without {@link #IN_USE} unless asked), then the chunks marked. */
    void write(OutputStream to, boolean inUse) throws IOException {
        DataOutputStream out = new DataOutputStream(to);
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt((inUse ? IN_USE : 0) | (consistent ? 0 : INCONSISTENT));
        out.writeInt(shift);
        List<Map.Entry<Long, long[]>> marked = List.copyOf(chunks.entrySet());      // in order
        out.writeInt(marked.size());
        for (Map.Entry<Long, long[]> c : marked) {
            out.writeLong(c.getKey());
            long[] chunk = c.getValue();
            for (int i = 0; i < CHUNK_WORDS; i++) {
                out.writeLong((long) WORD.getOpaque(chunk, i));
            }
        }
        out.flush();
    }

    /** Where the flags are in {@link #write}'s format, to set {@link #IN_USE} in place. */
    static final long FLAGS_OFFSET = 8;

    /**
     * Reads a bitmap written by {@link #write}. One left {@link #IN_USE} (its server stopped without
     * saving it) comes back inconsistent.
     */
    static DirtyBitmap read(String name, InputStream from) throws IOException {
        DataInputStream in = new DataInputStream(from);
        if (in.readInt() != MAGIC) {
            throw new IOException("not a dirty bitmap");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("dirty bitmap format " + version + " is not known here");
        }
        int flags = in.readInt();
        int shift = in.readInt();
        if (shift < 9 || shift > 30) {
            throw new IOException("bad granularity 2^" + shift);
        }
        DirtyBitmap b = new DirtyBitmap(name, 1 << shift, (flags & (IN_USE | INCONSISTENT)) == 0);
        int count = in.readInt();
        for (int c = 0; c < count; c++) {
            long index = in.readLong();
            long[] chunk = new long[CHUNK_WORDS];
            for (int i = 0; i < CHUNK_WORDS; i++) {
                chunk[i] = in.readLong();
            }
            b.chunks.put(index, chunk);
        }
        return b;
    }
}
