package org.nbdosgi.engine.metrics;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.NbdError;

/**
 * What one connection's requests did, by operation: how many (the latency histogram's count), how
 * long each took from arrival to its reply written, bytes, errors by errno, and time spent waiting at
 * a closed drain gate. Data plane: a finished request costs one increment for its latency bucket, one
 * for the latency sum and one for its bytes, all {@link LongAdder}s (no lock; each connection has its
 * own meter, so its threads rarely meet); errors and waits cost only when they happen. An export's
 * totals are the sum of its connections' meters ({@link ExportMeter}).
 */
public final class RequestMeter {
    /** Operations are NBD command types 0..7 (2, disconnect, is never counted); 8 is any other type. */
    public static final int OPS = 9;
    private static final int OTHER = OPS - 1;
    private static final NbdError[] ERRORS = NbdError.values();

    private final LatencyHistogram[] latency = new LatencyHistogram[OPS];
    private final LongAdder[] bytes = new LongAdder[OPS];
    private final AtomicLongArray errors = new AtomicLongArray(OPS * ERRORS.length);
    private final LongAdder parkedNanos = new LongAdder();
    private final LongAdder parkedRequests = new LongAdder();

    public RequestMeter() {
        for (int op = 0; op < OPS; op++) {
            latency[op] = new LatencyHistogram();
            bytes[op] = new LongAdder();
        }
    }

    /** The operation index of an NBD command type. */
    public static int op(int type) {
        return type >= 0 && type < OTHER ? type : OTHER;
    }

    /**
     * Data plane: a request's reply was written (or dropped with its client). {@code bytes} are the
     * bytes it moved or covered (0 for a failure); {@code error} is null on success.
     */
    public void completed(int type, long bytes, long arrivedNanos, long nowNanos, NbdError error) {
        int op = op(type);
        latency[op].record(nowNanos - arrivedNanos);
        if (bytes != 0) {
            this.bytes[op].add(bytes);
        }
        if (error != null) {
            errors.getAndIncrement(op * ERRORS.length + error.ordinal());
        }
    }

    /** Data plane: a request waited {@code nanos} at its export's closed gate (a rewire, a swap, a park). */
    public void parked(long nanos) {
        parkedNanos.add(nanos);
        parkedRequests.increment();
    }

    public LatencyHistogram latency(int op) {
        return latency[op];
    }

    public long bytes(int op) {
        return bytes[op].sum();
    }

    public long errors(int op, NbdError error) {
        return errors.get(op * ERRORS.length + error.ordinal());
    }

    public long parkedNanos() {
        return parkedNanos.sum();
    }

    public long parkedRequests() {
        return parkedRequests.sum();
    }

    /** Adds everything this meter counted to {@code total}. */
    void addTo(RequestMeter total) {
        for (int op = 0; op < OPS; op++) {
            total.latency[op].add(latency[op]);
            total.bytes[op].add(bytes[op].sum());
            for (int e = 0; e < ERRORS.length; e++) {
                long n = errors.get(op * ERRORS.length + e);
                if (n != 0) {
                    total.errors.getAndAdd(op * ERRORS.length + e, n);
                }
            }
        }
        total.parkedNanos.add(parkedNanos.sum());
        total.parkedRequests.add(parkedRequests.sum());
    }

    /** The name of operation {@code op} in metric labels. */
    public static String opName(int op) {
        return switch (op) {
            case 0 -> "read";
            case 1 -> "write";
            case 3 -> "flush";
            case 4 -> "trim";
            case 5 -> "cache";
            case 6 -> "write_zeroes";
            case 7 -> "block_status";
            default -> "other";
        };
    }
}
