package org.nbdosgi.api.admin;

import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.PluginInstance;

/**
 * The engine's metrics, for the tools that show them (the Prometheus endpoint and the JMX beans of
 * the metrics bundle, the console's {@code nbd:top}): per export and per connection, requests, bytes,
 * errors, latencies, what is in flight, parked time and rewire pauses, and what each layer reports
 * through {@link PluginInstance#metrics} or {@link FilterInstance#metrics}. Registered by the engine
 * as a service. Any thread; reading never waits for requests or for the control plane.
 */
public interface ServerMetrics {

    /**
     * Whether requests are being counted (framework property {@code nbd.metrics} set and not
     * {@code off}). Without it only the export and connection gauges and the layers' own metrics are reported.
     */
    boolean counting();

    /**
     * Reports every metric as it is now. The names are full ({@code nbd_export_requests_total}); the
     * export's metrics carry the label {@code export}, a connection's also {@code connection} (its id)
     * and {@code client} (its address).
     */
    void collect(MetricSink sink);
}
