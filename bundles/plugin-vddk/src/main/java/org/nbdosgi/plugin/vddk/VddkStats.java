package org.nbdosgi.plugin.vddk;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

import org.nbdosgi.api.CallLatency;
import org.nbdosgi.api.MetricSink;

/**
 * Time spent in each VDDK function for one export: calls, total time and bytes for the table of
 * {@code stats=true} and {@code nbd:vddk-stats}, and a latency histogram and failure count per
 * function for the metrics ({@code nbd_vddk_request_seconds{op="read_async"}}). For the *Async
 * calls the time runs from issuing the request to its completion callback. Data plane: recording
 * is lock-free (LongAdders), so any thread may record while another prints or a scrape reads.
 */
final class VddkStats {

    /** The VDDK functions that are timed, named as in VDDK. */
    enum Call {
        ConnectEx, Open, GetInfo, Close, Disconnect, Create, ReadAsync, WriteAsync, Wait, Flush,
        QueryAllocatedBlocks;

        /** Its {@code op} label in the metrics: the name in snake case ({@code query_allocated_blocks}). */
        final String label = name().replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    /** One function's figures at one moment. */
    record Row(String function, long calls, long micros, long bytes) {
    }

    private final LongAdder[] calls = adders();
    private final LongAdder[] nanos = adders();
    private final LongAdder[] bytes = adders();
    private final CallLatency latency = new CallLatency(Arrays.stream(Call.values()).map(c -> c.label).toArray(String[]::new));

    private static LongAdder[] adders() {
        LongAdder[] a = new LongAdder[Call.values().length];
        for (int i = 0; i < a.length; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    /**
     * Records one call that started at {@code startNanos} ({@link System#nanoTime()}) and ended now,
     * moving {@code byteCount} bytes; {@code failed} when VDDK returned an error.
     */
    void record(Call call, long startNanos, long byteCount, boolean failed) {
        int i = call.ordinal();
        calls[i].increment();
        nanos[i].add(System.nanoTime() - startNanos);
        if (byteCount > 0) {
            bytes[i].add(byteCount);
        }
        latency.record(i, startNanos, failed);
    }

    /** The metrics: latency and failures of each function called so far. Any thread. */
    void report(MetricSink sink) {
        latency.report(sink);
    }

    /** The functions called so far, the most time first. */
    List<Row> rows() {
        List<Row> out = new ArrayList<>();
        for (Call c : Call.values()) {
            long n = calls[c.ordinal()].sum();
            if (n > 0) {
                out.add(new Row("VixDiskLib_" + c.name(), n, nanos[c.ordinal()].sum() / 1000, bytes[c.ordinal()].sum()));
            }
        }
        out.sort(Comparator.comparingLong(Row::micros).reversed());
        return out;
    }

    /** A table for people: function, calls, total and mean time, bytes. */
    String table() {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-32s %10s %14s %10s %14s%n",
                "FUNCTION", "CALLS", "TOTAL-US", "MEAN-US", "BYTES"));
        for (Row r : rows()) {
            b.append(String.format(Locale.ROOT, "%-32s %10d %14d %10d %14d%n", r.function(), r.calls(), r.micros(),
                    r.micros() / r.calls(), r.bytes()));
        }
        return b.toString();
    }
}
