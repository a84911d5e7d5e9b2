package org.nbdosgi.api;

import java.util.Arrays;

/**
 * Collects the extents a layer reports for a block status request, in the spirit of nbdkit's
 * {@code nbdkit_add_extent}, for one meta context. Extents must be added in ascending order without
 * gaps; parts before {@link #start()} or at or after {@link #end()} are clipped away, so a layer may
 * simply report whole allocation units around the range. Adjacent extents of the same type are
 * merged. What a type means depends on the meta context: {@link #HOLE} and {@link #ZERO} for
 * {@link #BASE_ALLOCATION}, {@link #DIRTY} for a dirty bitmap, a depth for allocation depth.
 *
 * <p>Data plane; one instance per request, not thread-safe.
 */
public final class Extents {
    /** The meta context every export offers: allocation, with {@link #HOLE} and {@link #ZERO}. */
    public static final String BASE_ALLOCATION = "base:allocation";
    /**
     * qemu's meta context for where data comes from in a chain of layers: the type is a depth, 0
     * for unallocated, 1 for the layer that answers, 2 for the layer below it, and so on.
     */
    public static final String QEMU_ALLOCATION_DEPTH = "qemu:allocation-depth";
    /** The start of qemu's dirty bitmap meta contexts, {@code qemu:dirty-bitmap:NAME}, typed {@link #DIRTY}. */
    public static final String QEMU_DIRTY_BITMAP = "qemu:dirty-bitmap:";

    /** base:allocation: the range is not allocated (a hole). */
    public static final int HOLE = 1;
    /** base:allocation: the range reads as zeros. */
    public static final int ZERO = 2;
    /** A dirty bitmap: the range was written since the bitmap was cleared. */
    public static final int DIRTY = 1;
    /** The most extents one reply carries (the protocol's recommendation). */
    public static final int MAX_EXTENTS = 1 << 20;

    private final long start;
    private final long end;
    private long next;
    private long[] offsets = new long[8];
    private long[] lengths = new long[8];
    private int[] types = new int[8];
    private int count;

    /**
     * @param start the first offset the request is about
     * @param end   the offset beyond which nothing is kept (usually the size of the layer)
     */
    public Extents(long start, long end) {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("bad extents range " + start + ".." + end);
        }
        this.start = start;
        this.end = end;
        this.next = start;
    }

    public long start() {
        return start;
    }

    public long end() {
        return end;
    }

    /** The offset just past the last extent added so far ({@link #start()} when empty). */
    public long covered() {
        return next;
    }

    /** True when no more extents are wanted (the range is covered up to {@link #end()} or the list is full). */
    public boolean isFull() {
        return next >= end || count >= MAX_EXTENTS;
    }

    /**
     * Adds an extent.
     *
     * @param type a combination of {@link #HOLE} and {@link #ZERO}, 0 for allocated data
     * @throws NbdException EIO if the extent leaves a gap after the previous one
     */
    public void add(long offset, long length, int type) throws NbdException {
        if (length <= 0 || isFull()) {
            return;
        }
        long stop = length > Long.MAX_VALUE - offset ? Long.MAX_VALUE : offset + length;
        if (stop <= next) {
            return;                                  // wholly before what is already covered
        }
        if (offset > next) {
            throw new NbdException(NbdError.EIO,
                    "extents must be contiguous: expected one at offset " + next + ", got " + offset);
        }
        stop = Math.min(stop, end);
        long len = stop - next;
        if (count > 0 && types[count - 1] == type) {
            lengths[count - 1] += len;
        } else {
            if (count == offsets.length) {
                int n = count * 2;
                offsets = Arrays.copyOf(offsets, n);
                lengths = Arrays.copyOf(lengths, n);
                types = Arrays.copyOf(types, n);
            }
            offsets[count] = next;
            lengths[count] = len;
            types[count] = type;
            count++;
        }
        next = stop;
    }

    public int count() {
        return count;
    }

    public long offset(int i) {
        checkIndex(i);
        return offsets[i];
    }

    public long length(int i) {
        checkIndex(i);
        return lengths[i];
    }

    public int type(int i) {
        checkIndex(i);
        return types[i];
    }

    private void checkIndex(int i) {
        if (i < 0 || i >= count) {
            throw new IndexOutOfBoundsException(i);
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Extents[");
        for (int i = 0; i < count; i++) {
            b.append(i == 0 ? "" : ", ").append(offsets[i]).append('+').append(lengths[i]).append(':').append(types[i]);
        }
        return b.append(']').toString();
    }
}
