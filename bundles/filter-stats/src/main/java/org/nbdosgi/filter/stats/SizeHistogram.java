package org.nbdosgi.filter.stats;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Requests of one operation by size class and offset alignment: the size class is the position of
 * the length's highest bit (4096..8191 bytes is class 12), the alignment the number of trailing
 * zero bits of the offset, with offset 0 aligned to everything. A counter cell is created the first
 * time its class is seen, so an export pays memory only for the sizes its clients use.
 *
 * <p>Data plane: lock-free, any number of threads; a cell is a {@link LongAdder}, so threads
 * counting the same class do not contend on one memory word.
 */
final class SizeHistogram {
    static final int SIZE_CLASSES = 64;
    /** Alignment slots: 0..63 trailing zero bits, and {@link #ANY_ALIGNMENT} for offset 0. */
    static final int ALIGNMENTS = 65;
    static final int ANY_ALIGNMENT = 64;

    private final AtomicReferenceArray<LongAdder> requests = new AtomicReferenceArray<>(SIZE_CLASSES * ALIGNMENTS);
    private final AtomicReferenceArray<LongAdder> bytes = new AtomicReferenceArray<>(SIZE_CLASSES);

    static int sizeClass(long length) {
        return length <= 1 ? 0 : 63 - Long.numberOfLeadingZeros(length);
    }

    static int alignment(long offset) {
        return offset == 0 ? ANY_ALIGNMENT : Long.numberOfTrailingZeros(offset);
    }

    void add(long offset, long length) {
        int size = sizeClass(length);
        cell(requests, size * ALIGNMENTS + alignment(offset)).increment();
        cell(bytes, size).add(length);
    }

    /** Adds counts taken from {@link #requestCounts()} and {@link #byteCounts()} (a predecessor's). */
    void add(long[] requestCounts, long[] byteCounts) {
        for (int i = 0; i < requestCounts.length && i < SIZE_CLASSES * ALIGNMENTS; i++) {
            if (requestCounts[i] != 0) {
                cell(requests, i).add(requestCounts[i]);
            }
        }
        for (int i = 0; i < byteCounts.length && i < SIZE_CLASSES; i++) {
            if (byteCounts[i] != 0) {
                cell(bytes, i).add(byteCounts[i]);
            }
        }
    }

    /** Requests per {@code sizeClass * ALIGNMENTS + alignment}. */
    long[] requestCounts() {
        return sums(requests);
    }

    /** Bytes per size class. */
    long[] byteCounts() {
        return sums(bytes);
    }

    private static LongAdder cell(AtomicReferenceArray<LongAdder> cells, int i) {
        LongAdder c = cells.get(i);
        if (c == null) {
            LongAdder fresh = new LongAdder();
            c = cells.compareAndExchange(i, null, fresh);     // another thread may have won the race
            if (c == null) {
                c = fresh;
            }
        }
        return c;
    }

    private static long[] sums(AtomicReferenceArray<LongAdder> cells) {
        long[] out = new long[cells.length()];
        for (int i = 0; i < out.length; i++) {
            LongAdder c = cells.get(i);
            out[i] = c == null ? 0 : c.sum();
        }
        return out;
    }
}
