package org.nbdosgi.api;

/**
 * Where metrics are reported when someone reads them (a Prometheus scrape, a JMX read, the console's
 * {@code nbd:top}): the engine calls {@link PluginInstance#metrics} and {@link FilterInstance#metrics}
 * with one, and the layer reports its current values. Nothing is registered ahead and nothing is
 * pushed: a layer keeps its own counters (a {@link java.util.concurrent.atomic.LongAdder}, a
 * {@link LatencyHistogram}) and reads them here.
 *
 * <p>Names are lower case with underscores ({@code hits_total}, {@code dirty_bytes}); the engine
 * prefixes them with {@code nbd_} and the layer's name ({@code nbd_cache_hits_total}) and adds the
 * label {@code export}. Labels are given as name, value pairs ({@code "op", "get"}). Counters end in
 * {@code _total} by convention; sizes are in bytes and durations in seconds, as Prometheus prefers.
 * Called on a thread of whoever reads, concurrently with requests: read, never wait.
 */
public interface MetricSink {

    /** A value that only grows while the instance lives (requests made, bytes fetched). */
    void counter(String name, String help, double value, String... labels);

    /** A value that goes up and down (bytes dirty, blocks cached). */
    void gauge(String name, String help, double value, String... labels);

    /** A distribution of durations, reported in seconds. */
    void latency(String name, String help, LatencyHistogram histogram, String... labels);
}
