package org.nbdosgi.api;

import java.util.concurrent.atomic.LongAdder;

/**
 * How long the calls a plugin makes upstream take, and how many fail, by kind of call (an object
 * store's GET and PUT, an upstream NBD server's read and write, an HTTP server's GET): a
 * {@link LatencyHistogram} and a failure count per kind, fixed when it is made, so recording is a
 * few {@link LongAdder} increments, without a lock, a map or an allocation. Reported as
 * {@code request_seconds} and {@code request_errors_total} labelled {@code op}, which the engine
 * names after the layer ({@code nbd_s3_request_seconds{op="get"}}).
 */
public final class CallLatency {
    private final String[] calls;
    private final LatencyHistogram[] latency;
    private final LongAdder[] failures;

    /** @param calls the kinds of call, as their {@code op} label reads (lower case) */
    public CallLatency(String... calls) {
        this.calls = calls.clone();
        this.latency = new LatencyHistogram[calls.length];
        this.failures = new LongAdder[calls.length];
        for (int i = 0; i < calls.length; i++) {
            latency[i] = new LatencyHistogram();
            failures[i] = new LongAdder();
        }
    }

    /** Any thread: call number {@code call} (its index in the constructor's list) started at {@code startNanos} and ended now. */
    public void record(int call, long startNanos, boolean failed) {
        latency[call].record(System.nanoTime() - startNanos);
        if (failed) {
            failures[call].increment();
        }
    }

    /** Any thread: reports each kind that was called at least once. */
    public void report(MetricSink sink) {
        for (int i = 0; i < calls.length; i++) {
            if (latency[i].count() == 0) {
                continue;
            }
            sink.latency("request_seconds", "Time the upstream took to answer, by call", latency[i], "op", calls[i]);
            sink.counter("request_errors_total", "Calls upstream that failed, by call", failures[i].sum(), "op", calls[i]);
        }
    }
}
