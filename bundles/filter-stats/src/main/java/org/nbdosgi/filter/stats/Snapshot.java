package org.nbdosgi.filter.stats;

import java.util.List;

/**
 * The counts at one moment: how long the export has been counted, and per operation its totals.
 * Immutable; any plane.
 *
 * @param elapsedNanos wall time since the counting started (export start or the last reset)
 * @param ops          one entry per {@link Op}, in {@link Op#ALL} order
 */
record Snapshot(long elapsedNanos, List<OpTotals> ops) {

    /**
     * @param nanos                      time spent in the layers below, summed over the requests
     * @param requestsBySizeAndAlignment {@link SizeHistogram#requestCounts()}, null without histogram
     * @param bytesBySize                {@link SizeHistogram#byteCounts()}, null without histogram
     */
    record OpTotals(Op op, long ops, long bytes, long nanos, long[] requestsBySizeAndAlignment, long[] bytesBySize) {
    }
}
