package org.nbdosgi.plugin.vddk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.plugin.vddk.VddkStats.Call;

class VddkStatsTest {
    @Test
    void countsCallsBytesAndTimeMostTimeFirst() {
        VddkStats s = new VddkStats();
        long now = System.nanoTime();
        s.record(Call.ReadAsync, now - 3_000_000, 4096, false);
        s.record(Call.ReadAsync, now - 1_000_000, 512, false);
        s.record(Call.Flush, now - 1_000, 0, false);
        List<VddkStats.Row> rows = s.rows();
        assertEquals(2, rows.size());
        assertEquals("VixDiskLib_ReadAsync", rows.get(0).function());
        assertEquals(2, rows.get(0).calls());
        assertEquals(4608, rows.get(0).bytes());
        assertTrue(rows.get(0).micros() >= 4000, "time adds up: " + rows.get(0).micros());
        assertEquals("VixDiskLib_Flush", rows.get(1).function());
        String table = s.table();
        assertTrue(table.startsWith("FUNCTION"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("VixDiskLib_ReadAsync") && l.trim().endsWith("4608")), table);
    }

    @Test
    void unusedFunctionsAreNotListed() {
        assertEquals(List.of(), new VddkStats().rows());
    }

    @Test
    void metricsGiveEachCalledFunctionsLatencyAndFailuresLabelledInSnakeCase() {
        VddkStats s = new VddkStats();
        long now = System.nanoTime();
        s.record(Call.ReadAsync, now - 2_000_000, 4096, false);
        s.record(Call.ReadAsync, now - 1_000_000, 4096, true);
        s.record(Call.QueryAllocatedBlocks, now, 0, false);
        List<String> seen = new ArrayList<>();
        s.report(new MetricSink() {
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
                seen.add(name + " " + String.join("=", labels) + " " + h.count() + (h.sumNanos() >= 3_000_000 ? " >=3ms" : ""));
            }
        });
        assertEquals(List.of("request_seconds op=read_async 2 >=3ms", "request_errors_total op=read_async 1",
                "request_seconds op=query_allocated_blocks 1", "request_errors_total op=query_allocated_blocks 0"), seen);
    }
}
