package org.nbdosgi.filter.stats;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Everything the stats filter counts for one export since it started: per operation the requests,
 * bytes and nanoseconds spent in the layers below, and, when histograms are on, the size and
 * alignment histogram. Only ever added to; a reset is a baseline snapshot (see {@link StatsInstance}).
 *
 * <p>Data plane: {@link #record} is lock-free ({@link LongAdder}s), so counting never serialises
 * requests. A {@link #snapshot} taken while requests run may see one request's count before its
 * bytes; a report at export stop is exact.
 */
final class Counters {
    private final long startNanos;
    private final LongAdder[] ops = adders();
    private final LongAdder[] bytes = adders();
    private final LongAdder[] nanos = adders();
    private final SizeHistogram[] histograms = new SizeHistogram[Op.ALL.length];

    Counters(long startNanos, boolean withHistograms) {
        this.startNanos = startNanos;
        for (Op op : Op.ALL) {
            if (withHistograms && op.sized) {
                histograms[op.ordinal()] = new SizeHistogram();
            }
        }
    }

    private static LongAdder[] adders() {
        LongAdder[] a = new LongAdder[Op.ALL.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    /** Counts one request that succeeded after {@code elapsedNanos} in the layers below. */
    void record(Op op, long offset, long length, long elapsedNanos) {
        int i = op.ordinal();
        ops[i].increment();
        bytes[i].add(length);
        nanos[i].add(elapsedNanos);
        SizeHistogram h = histograms[i];
        if (h != null) {
            h.add(offset, length);
        }
    }

    Snapshot snapshot(long nowNanos) {
        List<Snapshot.OpTotals> out = new ArrayList<>();
        for (Op op : Op.ALL) {
            int i = op.ordinal();
            SizeHistogram h = histograms[i];
            out.add(new Snapshot.OpTotals(op, ops[i].sum(), bytes[i].sum(), nanos[i].sum(),
                    h == null ? null : h.requestCounts(), h == null ? null : h.byteCounts()));
        }
        return new Snapshot(Math.max(0, nowNanos - startNanos), out);
    }

    // ---- hand-over across an update of this bundle: JDK types only ----------------------------

    private static final String START = "startNanos";

    /** The counts of {@code counted} (taken at {@code nowNanos}) as a map of JDK types, for the instance that replaces this one. */
    static Map<String, Object> toState(Snapshot counted, long nowNanos) {
        Map<String, Object> state = new HashMap<>();
        state.put(START, nowNanos - counted.elapsedNanos());
        for (Snapshot.OpTotals t : counted.ops()) {
            state.put(t.op().label, new long[] {t.ops(), t.bytes(), t.nanos()});
            if (t.requestsBySizeAndAlignment() != null) {
                state.put(t.op().label + ".requests", t.requestsBySizeAndAlignment());
                state.put(t.op().label + ".bytes", t.bytesBySize());
            }
        }
        return state;
    }

    /** Counters that continue from a predecessor's {@link #toState}. */
    static Counters fromState(Map<?, ?> state, boolean withHistograms) {
        Counters c = new Counters(state.get(START) instanceof Long start ? start : System.nanoTime(), withHistograms);
        for (Op op : Op.ALL) {
            int i = op.ordinal();
            if (state.get(op.label) instanceof long[] totals && totals.length == 3) {
                c.ops[i].add(totals[0]);
                c.bytes[i].add(totals[1]);
                c.nanos[i].add(totals[2]);
            }
            if (c.histograms[i] != null && state.get(op.label + ".requests") instanceof long[] requests
                    && state.get(op.label + ".bytes") instanceof long[] sizeBytes) {
                c.histograms[i].add(requests, sizeBytes);
            }
        }
        return c;
    }
}
