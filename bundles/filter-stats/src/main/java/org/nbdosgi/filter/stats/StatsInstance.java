package org.nbdosgi.filter.stats;

import java.io.IOException;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stats filter on one export: its counters, shared by every connection, and where the report
 * goes when the export stops (the statsfile, else the {@code nbd.report.stats} log). Registered in
 * {@link LiveStats} while it runs, for {@code nbd:stats}. Control plane, except {@link #counters()}.
 */
final class StatsInstance implements FilterInstance {
    private static final Logger REPORT = LoggerFactory.getLogger("nbd.report.stats");

    private final String exportName;
    private final Layer next;
    private final int threshold;
    private final StatsFile file;
    private final LiveStats live;
    private volatile Counters counters;
    private volatile boolean handedOver;

    /**
     * @param threshold histogram percentile, 0 for none
     * @param file      the statsfile, or null
     */
    StatsInstance(String exportName, Layer next, int threshold, StatsFile file, Counters counters, LiveStats live) {
        this.exportName = exportName;
        this.next = next;
        this.threshold = threshold;
        this.file = file;
        this.counters = counters;
        this.live = live;
    }

    String exportName() {
        return exportName;
    }

    /** Data plane: where requests are counted right now (replaced by a reset). */
    Counters counters() {
        return counters;
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        return new StatsHandle(next.open(client), this);
    }

    /** The report of the counts so far; nothing stops or waits. */
    String report() {
        return StatsReport.format(counters.snapshot(System.nanoTime()), threshold);
    }

    /**
     * The report of the counts so far, and counting starts again from zero. A request that completes
     * at the very moment of the reset may be missing from both reports.
     */
    synchronized String reportAndReset() {
        long now = System.nanoTime();
        Counters old = counters;
        counters = new Counters(now, threshold > 0);
        return StatsReport.format(old.snapshot(now), threshold);
    }

    /** The counts go to the instance of the updated bundle, which reports them when the export stops. */
    @Override
    public Object handOver() {
        handedOver = true;
        return counters.toState(System.nanoTime());
    }

    static Counters inherit(Object state, boolean withHistograms) {
        return state instanceof Map<?, ?> m ? Counters.fromState(m, withHistograms) : null;
    }

    /** The export stops: the report goes to the statsfile, or, if anything was counted, to the log. */
    @Override
    public void close() throws IOException {
        live.remove(this);
        try {
            if (!handedOver) {
                Snapshot last = counters.snapshot(System.nanoTime());
                if (file != null) {
                    file.write(StatsReport.format(last, threshold));
                } else if (last.ops().stream().anyMatch(t -> t.ops() > 0)) {
                    // nothing counted, nothing logged: an export that failed to start stays one error line
                    REPORT.info("export '{}' statistics:\n{}", exportName, StatsReport.format(last, threshold).stripTrailing());
                }
            }
        } finally {
            if (file != null) {
                file.close();
            }
        }
    }
}
