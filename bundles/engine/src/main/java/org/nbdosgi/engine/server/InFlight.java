package org.nbdosgi.engine.server;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One connection's requests in flight and the payload bytes they hold, with a bound on both. Data
 * plane: only the connection's reader takes (and parks while over the bound, which stops it reading:
 * TCP backpressure); request threads give back. Both counts live in one atomic, so taking and giving
 * back cost one atomic add each, and no lock.
 */
final class InFlight {
    private static final int BYTES_BITS = 32;
    private static final long BYTES_MASK = (1L << BYTES_BITS) - 1;

    private final int maxRequests;
    private final int maxBytes;
    private final AtomicLong used = new AtomicLong();           // requests << 32 | bytes
    private volatile Thread waiting;

    InFlight(int maxRequests, int maxBytes) {
        this.maxRequests = maxRequests;
        this.maxBytes = maxBytes;
    }

    /** The largest share of the byte budget one request takes, so any request can run alone. */
    int share(long length) {
        return (int) Math.min(length, maxBytes);
    }

    /** Reader only: takes a request slot and {@code bytes} (from {@link #share}), waiting while over the bound. */
    void take(int bytes) throws InterruptedException {
        if (!fits(bytes)) {                                      // only this thread adds, so room seen stays room
            awaitUntil(() -> fits(bytes));
        }
        used.getAndAdd((1L << BYTES_BITS) | bytes);
    }

    private boolean fits(int bytes) {
        long u = used.get();
        return requests(u) < maxRequests && bytes(u) + bytes <= maxBytes;
    }

    /** Any thread: a request taken with {@code bytes} has finished. */
    void giveBack(int bytes) {
        used.getAndAdd(-((1L << BYTES_BITS) | bytes));
        Thread w = waiting;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /** Requests in flight now. */
    int requests() {
        return requests(used.get());
    }

    /** Payload bytes in flight now. */
    long bytes() {
        return bytes(used.get());
    }

    /** Reader only: waits until every request taken has been given back. */
    void awaitNone() {
        boolean interrupted = false;
        while (true) {
            try {
                if (requests() > 0) {
                    awaitUntil(() -> requests() == 0);
                }
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private interface Condition {
        boolean holds();
    }

    private void awaitUntil(Condition c) throws InterruptedException {
        waiting = Thread.currentThread();
        try {
            while (!c.holds()) {                                 // checked after publishing the waiter: no lost wake-up
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        } finally {
            waiting = null;
        }
    }

    private static int requests(long used) {
        return (int) (used >>> BYTES_BITS);
    }

    private static long bytes(long used) {
        return used & BYTES_MASK;
    }
}
