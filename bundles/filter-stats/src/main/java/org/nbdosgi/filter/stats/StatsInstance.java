package org.nbdosgi.filter.stats;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Peer;
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
    /** With {@code statsbyidentity}: the counts of each client identity (no histograms); else null. */
    private final Map<String, Counters> identities;
    /** The counts at the last reset, subtracted from every report; null before any reset. */
    private volatile Snapshot baseline;
    private volatile Map<String, Snapshot> identityBaselines = Map.of();
    private volatile boolean handedOver;

    /**
     * @param threshold histogram percentile, 0 for none
     * @param file      the statsfile, or null
     */
    StatsInstance(String exportName, Layer next, int threshold, StatsFile file, Counters counters,
                  Map<String, Counters> identities, LiveStats live) {
        this.exportName = exportName;
        this.next = next;
        this.threshold = threshold;
        this.file = file;
        this.counters = counters;
        this.identities = identities;
        this.live = live;
    }

    String exportName() {
        return exportName;
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        // handles the server opens for itself (the size probe, a filter's own) are no client
        Counters mine = identities == null || client.connectionId() <= 0 ? null
                : identities.computeIfAbsent(identity(client.peer()), id -> new Counters(System.nanoTime(), false));
        return new StatsHandle(next.open(client), counters, mine);
    }

    /** Whom a client's requests count for: what TLS proved, else whether it used TLS at all. */
    static String identity(Peer peer) {
        if (peer.tlsIdentity() != null) {
            return peer.tlsIdentity();
        }
        return peer.tlsVersion() != null ? "anonymous" : "no TLS";
    }

    /** The counts since the export started or the last reset, at {@code nowNanos}. */
    private Snapshot counted(long nowNanos) {
        return counters.snapshot(nowNanos).since(baseline);
    }

    /** The report of the counts so far; nothing stops or waits. */
    String report() {
        long now = System.nanoTime();
        return format(counted(now), countedByIdentity(now));
    }

    /** Each identity's counts since it first connected or the last reset; empty without statsbyidentity. */
    private Map<String, Snapshot> countedByIdentity(long nowNanos) {
        Map<String, Snapshot> out = new TreeMap<>();
        if (identities != null) {
            Map<String, Snapshot> base = identityBaselines;
            identities.forEach((id, c) -> out.put(id, c.snapshot(nowNanos).since(base.get(id))));
        }
        return out;
    }

    /** nbdkit's report, then, with statsbyidentity, one without histograms per client identity. */
    private String format(Snapshot total, Map<String, Snapshot> byIdentity) {
        StringBuilder b = new StringBuilder(StatsReport.format(total, threshold));
        if (!byIdentity.isEmpty()) {
            b.append(b.toString().endsWith("\n\n") ? "" : "\n").append("by client identity:\n");
            byIdentity.forEach((id, s) -> {
                b.append(id).append(":\n");
                StatsReport.format(s, 0).lines().forEach(l -> b.append("  ").append(l).append('\n'));
            });
        }
        return b.toString();
    }

    /**
     * The report of the counts so far, and the next report counts from now: the counters go on,
     * and what they hold now becomes the baseline later reports subtract. Every request is in
     * exactly one report (one completing at that very moment may have its count in one and its
     * bytes in the next).
     */
    synchronized String reportAndReset() {
        long t = System.nanoTime();
        Snapshot now = counters.snapshot(t);
        Map<String, Snapshot> nowByIdentity = new HashMap<>();
        if (identities != null) {
            identities.forEach((id, c) -> nowByIdentity.put(id, c.snapshot(t)));
        }
        Map<String, Snapshot> base = identityBaselines;
        Map<String, Snapshot> sinceByIdentity = new TreeMap<>();
        nowByIdentity.forEach((id, s) -> sinceByIdentity.put(id, s.since(base.get(id))));
        String report = format(now.since(baseline), sinceByIdentity);
        baseline = now;
        identityBaselines = nowByIdentity;
        return report;
    }

    /** The counts go to the instance of the updated bundle, which reports them when the export stops. */
    @Override
    public Object handOver() {
        handedOver = true;
        long now = System.nanoTime();
        Map<String, Object> state = Counters.toState(counted(now), now);
        Map<String, Object> byIdentity = new HashMap<>();
        countedByIdentity(now).forEach((id, s) -> byIdentity.put(id, Counters.toState(s, now)));
        state.put(IDENTITIES, byIdentity);
        return state;
    }

    private static final String IDENTITIES = "identities";

    static Counters inherit(Object state, boolean withHistograms) {
        return state instanceof Map<?, ?> m ? Counters.fromState(m, withHistograms) : null;
    }

    /** The per-identity counts a predecessor handed over (none if it did not count them). */
    static Map<String, Counters> inheritIdentities(Object state) {
        Map<String, Counters> out = new ConcurrentHashMap<>();
        if (state instanceof Map<?, ?> m && m.get(IDENTITIES) instanceof Map<?, ?> ids) {
            ids.forEach((id, s) -> {
                if (id instanceof String name && s instanceof Map<?, ?> counts) {
                    out.put(name, Counters.fromState(counts, false));
                }
            });
        }
        return out;
    }

    /** The export stops: the report goes to the statsfile, or, if anything was counted, to the log. */
    @Override
    public void close() throws IOException {
        live.remove(this);
        try {
            if (!handedOver) {
                long now = System.nanoTime();
                Snapshot last = counted(now);
                String report = format(last, countedByIdentity(now));
                if (file != null) {
                    file.write(report);
                } else if (last.ops().stream().anyMatch(t -> t.ops() > 0)) {
                    // nothing counted, nothing logged: an export that failed to start stays one error line
                    REPORT.info("export '{}' statistics:\n{}", exportName, report.stripTrailing());
                }
            }
        } finally {
            if (file != null) {
                file.close();
            }
        }
    }
}
