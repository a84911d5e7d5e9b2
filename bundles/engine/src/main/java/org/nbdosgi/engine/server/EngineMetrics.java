package org.nbdosgi.engine.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.api.admin.ServerMetrics;
import org.nbdosgi.engine.chain.Chain;
import org.nbdosgi.engine.export.Export;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.metrics.RequestMeter;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's {@link ServerMetrics} service: reads the meters, gates and layers when someone asks
 * (a scrape, a JMX read, {@code nbd:top}) and reports them; nothing runs between reads. Any thread;
 * it never waits for requests or for the control plane (the only lock it takes is each export's
 * meter's, which requests never take).
 */
@Component(service = ServerMetrics.class)
public final class EngineMetrics implements ServerMetrics {
    private static final Logger LOG = LoggerFactory.getLogger(EngineMetrics.class);
    private static final NbdError[] ERRORS = NbdError.values();

    private final Engine engine;

    @Activate
    public EngineMetrics(@Reference Engine engine) {
        this.engine = engine;
    }

    @Override
    public boolean counting() {
        return engine.counting();
    }

    @Override
    public void collect(MetricSink sink) {
        Map<Export, long[]> inFlight = new HashMap<>();
        List<Connection> attached = new ArrayList<>();
        for (Connection c : engine.liveConnections()) {
            Session s = c.session();
            if (s != null) {
                attached.add(c);
                long[] f = c.inFlight();
                long[] sum = inFlight.computeIfAbsent(s.export(), e -> new long[2]);
                sum[0] += f[0];
                sum[1] += f[1];
            }
        }
        for (Export e : engine.allExports()) {
            exportMetrics(sink, e, inFlight.getOrDefault(e, new long[2]));
        }
        for (Connection c : attached) {
            connectionMetrics(sink, c);
        }
    }

    private void exportMetrics(MetricSink sink, Export e, long[] inFlight) {
        String[] labels = {"export", e.name()};
        sink.gauge("nbd_export_running", "1 while the export serves requests, 0 while it is parked or failed",
                e.state() == ExportState.RUNNING ? 1 : 0, labels);
        sink.gauge("nbd_export_clients", "Clients attached to the export now", e.sessions().size(), labels);
        sink.gauge("nbd_export_requests_in_flight", "Requests received and not yet replied to", inFlight[0], labels);
        sink.gauge("nbd_export_bytes_in_flight", "Payload bytes held by requests in flight", inFlight[1], labels);
        sink.counter("nbd_export_pauses_total", "Times the export's drain gate closed and opened again (rewire, hot swap, park)",
                e.gate().pauses(), labels);
        sink.counter("nbd_export_pause_seconds_total", "Time the export's drain gate was closed, the current pause included",
                e.gate().pausedNanos() / 1e9, labels);
        if (engine.counting()) {
            sink.counter("nbd_export_connections_total", "Clients that attached to the export", e.meter().connections(), labels);
            requests(sink, "nbd_export_", e.meter().total(), labels);
        }
        Chain chain = e.chain();
        if (chain != null) {
            chain.metrics((layer, occurrence) -> new LayerSink(sink, layer, occurrence, e.name()));
        }
    }

    private void connectionMetrics(MetricSink sink, Connection c) {
        RequestMeter m = c.meter();
        Session s = c.session();
        if (m == null || s == null) {
            return;
        }
        String[] labels = {"export", s.export().name(), "connection", Long.toString(c.id()),
                "client", String.valueOf(c.transport().peer().address())};
        long[] f = c.inFlight();
        sink.gauge("nbd_connection_requests_in_flight", "Requests received and not yet replied to", f[0], labels);
        sink.gauge("nbd_connection_bytes_in_flight", "Payload bytes held by requests in flight", f[1], labels);
        requests(sink, "nbd_connection_", m, labels);
    }

    /** Requests, bytes, errors, latency and parked time of a meter; an operation only once it was used. */
    private static void requests(MetricSink sink, String prefix, RequestMeter m, String[] labels) {
        for (int op = 0; op < RequestMeter.OPS; op++) {
            LatencyHistogram latency = m.latency(op);
            long count = latency.count();
            if (count == 0) {
                continue;
            }
            String[] opLabels = with(labels, "op", RequestMeter.opName(op));
            sink.counter(prefix + "requests_total", "Requests replied to, by operation", count, opLabels);
            sink.counter(prefix + "bytes_total", "Bytes read or written (trim, zero, cache: bytes covered) by requests that succeeded",
                    m.bytes(op), opLabels);
            sink.latency(prefix + "request_seconds", "Time from a request's arrival to its reply written", latency, opLabels);
            for (NbdError err : ERRORS) {
                long n = m.errors(op, err);
                if (n != 0) {
                    sink.counter(prefix + "errors_total", "Requests that failed, by operation and NBD error", n,
                            with(opLabels, "errno", err.name()));
                }
            }
        }
        sink.counter(prefix + "parked_seconds_total", "Time requests waited at the export's closed drain gate",
                m.parkedNanos() / 1e9, labels);
        sink.counter(prefix + "parked_requests_total", "Requests that waited at the export's closed drain gate",
                m.parkedRequests(), labels);
    }

    static String[] with(String[] labels, String name, String value) {
        String[] out = java.util.Arrays.copyOf(labels, labels.length + 2);
        out[labels.length] = name;
        out[labels.length + 1] = value;
        return out;
    }

    /** A layer's own metrics: named {@code nbd_LAYER_NAME}, labelled with the export (and the occurrence past the first). */
    private record LayerSink(MetricSink sink, String layer, int occurrence, String export) implements MetricSink {
        private String name(String n) {
            return "nbd_" + layer.replaceAll("[^A-Za-z0-9_]", "_") + "_" + n;
        }

        private String[] labels(String[] own) {
            String[] base = occurrence > 1 ? new String[] {"export", export, "occurrence", Integer.toString(occurrence)}
                    : new String[] {"export", export};
            String[] out = java.util.Arrays.copyOf(base, base.length + own.length);
            System.arraycopy(own, 0, out, base.length, own.length);
            return out;
        }

        @Override
        public void counter(String name, String help, double value, String... labels) {
            guard(() -> sink.counter(name(name), help, value, labels(labels)));
        }

        @Override
        public void gauge(String name, String help, double value, String... labels) {
            guard(() -> sink.gauge(name(name), help, value, labels(labels)));
        }

        @Override
        public void latency(String name, String help, LatencyHistogram histogram, String... labels) {
            guard(() -> sink.latency(name(name), help, histogram, labels(labels)));
        }

        private void guard(Runnable r) {
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.debug("export '{}': a metric of layer '{}' was not reported: {}", export, layer, e.toString());
            }
        }
    }
}
