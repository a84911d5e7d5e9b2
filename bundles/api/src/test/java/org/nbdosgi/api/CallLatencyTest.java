package org.nbdosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class CallLatencyTest {
    @Test
    void eachKindCalledIsReportedWithItsCountDurationAndFailures() {
        CallLatency calls = new CallLatency("get", "put", "head");
        long start = System.nanoTime() - 5_000_000;           // began 5 ms ago
        calls.record(0, start, false);
        calls.record(0, start, true);
        calls.record(2, System.nanoTime(), false);
        List<String> seen = new ArrayList<>();
        calls.report(new MetricSink() {
            @Override
            public void counter(String name, String help, double value, String... labels) {
                seen.add(name + " " + String.join("=", labels) + " " + (long) value);
            }

            @Override
            public void gauge(String name, String help, double value, String... labels) {
                seen.add("gauge " + name);
            }

            @Override
            public void latency(String name, String help, LatencyHistogram h, String... labels) {
                seen.add(name + " " + String.join("=", labels) + " " + h.count());
                if (labels[1].equals("get")) {
                    assertTrue(h.sumNanos() >= 10_000_000, "two calls of at least 5 ms: " + h.sumNanos());
                }
            }
        });
        assertEquals(List.of("request_seconds op=get 2", "request_errors_total op=get 1",
                "request_seconds op=head 1", "request_errors_total op=head 0"), seen, "put was never called: not reported");
    }
}
