package org.nbdosgi.engine.metrics;

import java.util.ArrayList;
import java.util.List;

/**
 * An export's request totals: the meters of its live connections plus what connections that ended
 * had counted. A connection's meter is folded into the totals when it ends, under the same small
 * lock that {@link #total} takes, so a reader never counts a connection twice or misses it and the
 * totals never go down (Prometheus would see a counter reset). The lock is taken when a connection
 * starts or ends and when someone reads metrics, never by a request.
 */
public final class ExportMeter {
    private final RequestMeter ended = new RequestMeter();
    private final List<RequestMeter> live = new ArrayList<>();
    private long connections;

    /** A connection attached to the export starts counting. */
    public synchronized void attach(RequestMeter meter) {
        live.add(meter);
        connections++;
    }

    /** A connection ended, after its last reply: its counts become part of the totals. */
    public synchronized void detach(RequestMeter meter) {
        if (live.remove(meter)) {
            meter.addTo(ended);
        }
    }

    /** The totals now, as a new meter (for readers only: nothing records into it). */
    public synchronized RequestMeter total() {
        RequestMeter t = new RequestMeter();
        ended.addTo(t);
        for (RequestMeter m : live) {
            m.addTo(t);
        }
        return t;
    }

    /** Connections that ever attached. */
    public synchronized long connections() {
        return connections;
    }
}
