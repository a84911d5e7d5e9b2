package org.nbdosgi.api;

import java.util.concurrent.atomic.LongAdder;

/**
 * A distribution of durations that any number of threads record into without a lock: one
 * {@link LongAdder} increment for the bucket and one for the sum. The buckets are fixed and the same
 * for every histogram, so histograms add up and any two can be compared: two per power of two of
 * nanoseconds, from {@value #FIRST_BOUND_NANOS} ns to about 34 s, then one for everything longer.
 * The engine times requests with it; a plugin or filter can time its own work (the calls it makes
 * upstream) and publish it through {@link MetricSink#latency}.
 */
public final class LatencyHistogram {
    /** The upper bound of the first bucket, in nanoseconds (2^11). */
    public static final long FIRST_BOUND_NANOS = 1L << 11;
    private static final int FIRST_OCTAVE = 11;
    private static final int LAST_OCTAVE = 35;                 // 2^35 ns = 34.4 s
    private static final int FINITE = 2 * (LAST_OCTAVE - FIRST_OCTAVE) + 1;
    /** How many buckets every histogram has, the last one without an upper bound. */
    public static final int BUCKETS = FINITE + 1;
    private static final long[] BOUNDS = new long[FINITE];

    static {
        BOUNDS[0] = FIRST_BOUND_NANOS;
        for (int octave = FIRST_OCTAVE; octave < LAST_OCTAVE; octave++) {
            int i = 2 * (octave - FIRST_OCTAVE) + 1;
            BOUNDS[i] = (1L << octave) + (1L << (octave - 1));   // 1.5 * 2^octave
            BOUNDS[i + 1] = 1L << (octave + 1);
        }
    }

    private final LongAdder[] counts = new LongAdder[BUCKETS];
    private final LongAdder sumNanos = new LongAdder();

    public LatencyHistogram() {
        for (int i = 0; i < BUCKETS; i++) {
            counts[i] = new LongAdder();
        }
    }

    /** Any thread: one duration, in nanoseconds (negative counts as 0). */
    public void record(long nanos) {
        counts[bucket(nanos)].increment();
        if (nanos > 0) {
            sumNanos.add(nanos);
        }
    }

    /** The bucket of a duration: the first whose upper bound is at least {@code nanos}. No loop, no search. */
    static int bucket(long nanos) {
        if (nanos <= FIRST_BOUND_NANOS) {
            return 0;
        }
        long n = nanos - 1;                                   // bounds are inclusive
        int octave = 63 - Long.numberOfLeadingZeros(n);       // 2^octave <= n < 2^(octave+1)
        if (octave >= LAST_OCTAVE) {
            return FINITE;
        }
        int upperHalf = (int) (n >>> (octave - 1)) & 1;       // n >= 1.5 * 2^octave
        return 2 * (octave - FIRST_OCTAVE) + 1 + upperHalf;
    }

    /** The inclusive upper bound of bucket {@code i} in nanoseconds; {@link Long#MAX_VALUE} for the last. */
    public static long upperBoundNanos(int i) {
        return i < FINITE ? BOUNDS[i] : Long.MAX_VALUE;
    }

    /** Adds what {@code other} recorded to this one (to keep the totals of something that ended). */
    public void add(LatencyHistogram other) {
        for (int i = 0; i < BUCKETS; i++) {
            long c = other.counts[i].sum();
            if (c != 0) {
                counts[i].add(c);
            }
        }
        sumNanos.add(other.sumNanos.sum());
    }

    /** The count per bucket now (not cumulative). Read while others record, it is a moment's picture. */
    public long[] bucketCounts() {
        long[] out = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            out[i] = counts[i].sum();
        }
        return out;
    }

    /** How many durations were recorded. */
    public long count() {
        long n = 0;
        for (LongAdder c : counts) {
            n += c.sum();
        }
        return n;
    }

    /** The sum of the durations recorded, in nanoseconds. */
    public long sumNanos() {
        return sumNanos.sum();
    }

    /**
     * The {@code q}-quantile (0..1) of the durations counted in {@code bucketCounts} (as
     * {@link #bucketCounts()} returns, or the difference of two of them for an interval), in
     * nanoseconds, interpolated within its bucket; -1 when nothing was counted.
     */
    public static long quantileNanos(long[] bucketCounts, double q) {
        long total = 0;
        for (long c : bucketCounts) {
            total += c;
        }
        if (total == 0) {
            return -1;
        }
        double rank = q * total;
        long seen = 0;
        for (int i = 0; i < bucketCounts.length; i++) {
            long c = bucketCounts[i];
            if (c > 0 && seen + c >= rank) {
                long lower = i == 0 ? 0 : upperBoundNanos(i - 1);
                long upper = i < FINITE ? upperBoundNanos(i) : 2 * lower;   // past the last bound: a guess
                return lower + Math.round((upper - lower) * ((rank - seen) / c));
            }
            seen += c;
        }
        return upperBoundNanos(FINITE - 1);
    }
}
