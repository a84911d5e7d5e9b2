package org.nbdosgi.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import org.junit.jupiter.api.Test;
import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.admin.ServerMetrics;

class PrometheusCollectorTest {

    /** What an engine with one export and one read of 20 us would report. */
    private static final ServerMetrics ENGINE = new ServerMetrics() {
        @Override
        public boolean counting() {
            return true;
        }

        @Override
        public void collect(MetricSink sink) {
            LatencyHistogram h = new LatencyHistogram();
            h.record(20_000);
            h.record(20_000);
            h.record(3_000_000);
            sink.gauge("nbd_export_connections", "clients", 1, "export", "disk");
            sink.counter("nbd_export_requests_total", "requests", 3, "export", "disk", "op", "read");
            sink.latency("nbd_export_request_seconds", "latency", h, "export", "disk", "op", "read");
            sink.counter("nbd_export_errors_total", "errors", 1, "export", "disk", "op", "read", "errno", "EIO");
        }
    };

    @Test
    void writesCountersGaugesAndCumulativeHistogramsInTheTextFormat() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, new PrometheusCollector(ENGINE).collect());
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("nbd_export_connections{export=\"disk\"} 1"), text);
        assertTrue(text.contains("nbd_export_requests_total{export=\"disk\",op=\"read\"} 3"), text);
        assertTrue(text.contains("nbd_export_errors_total{errno=\"EIO\",export=\"disk\",op=\"read\"} 1"), text);
        assertTrue(text.contains("nbd_export_request_seconds_bucket{export=\"disk\",op=\"read\",le=\"+Inf\"} 3"), text);
        assertTrue(text.contains("nbd_export_request_seconds_count{export=\"disk\",op=\"read\"} 3"), text);
        // cumulative: both 20 us reads are below 24.576 us, all three below 3.145728 ms
        assertTrue(text.contains("le=\"2.4576E-5\"} 2"), text);
        assertTrue(text.contains("le=\"0.003145728\"} 3"), text);
    }
}
