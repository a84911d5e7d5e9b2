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
 * {@link LiveStats} while it runs, for {@code nbd:stats}. Control plane; the handles count on the data plane.
 */
final class StatsInstance implements FilterInstance {
    private static final Logger REPORT = LoggerFactory.getLogger("nbd.report.stats");

    private final String exportName;
    private final Layer next;
    private final int threshold;
    private final StatsFile file;
    private final LiveStats live;
    private final Counters counters;
    /** The counts at the last reset, subtracted from every report; null before any reset. */
    private volatile Snapshot baseline;
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

    @Override
    public Handle open(ClientContext client) throws IOException {
        return new StatsHandle(next.open(client), counters);
    }

    /** The counts since the export started or the last reset, at {@code nowNanos}. */
    private Snapshot counted(long nowNanos) {
        return counters.snapshot(nowNanos).since(baseline);
    }

    /** The report of the counts so far; nothing stops or waits. */
    String report() {
        return StatsReport.format(counted(System.nanoTime()), threshold);
    }

    /**
     * The report of the counts so far, and the next report counts from now: the counters go on,
     * and what they hold now becomes the baseline later reports subtract. Every request is in
     * exactly one report (one completing at that very moment may have its count in one and its
     * bytes in the next).
     */
    synchronized String reportAndReset() {
        Snapshot now = counters.snapshot(System.nanoTime());
        String report = StatsReport.format(now.since(baseline), threshold);
        baseline = now;
        return report;
    }

    /** The counts go to the instance of the updated bundle, which reports them when the export stops. */
    @Override
    public Object handOver() {
        handedOver = true;
        long now = System.nanoTime();
        return Counters.toState(counted(now), now);
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
                Snapshot last = counted(System.nanoTime());
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
