package org.nbdosgi.filter.stats;

import java.util.ArrayList;
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

    /** What was counted after {@code earlier}, a snapshot of the same counters (null: everything). */
    Snapshot since(Snapshot earlier) {
        if (earlier == null) {
            return this;
        }
        List<OpTotals> out = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            OpTotals now = ops.get(i);
            OpTotals then = earlier.ops.get(i);
            out.add(new OpTotals(now.op(), now.ops() - then.ops(), now.bytes() - then.bytes(), now.nanos() - then.nanos(),
                    minus(now.requestsBySizeAndAlignment(), then.requestsBySizeAndAlignment()),
                    minus(now.bytesBySize(), then.bytesBySize())));
        }
        return new Snapshot(elapsedNanos - earlier.elapsedNanos, out);
    }

    private static long[] minus(long[] now, long[] then) {
        if (now == null || then == null) {
            return now;
        }
        long[] out = now.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] -= then[i];
        }
        return out;
    }
}
