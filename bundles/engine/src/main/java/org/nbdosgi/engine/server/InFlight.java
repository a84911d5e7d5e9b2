package org.nbdosgi.engine.server;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One connection's share of the server's resources, with a bound on each, counted so that the
 * reader never waits for something only the client can free:
 * <ul>
 * <li><b>request slots</b>: requests running (from start to the moment their reply is queued);
 * <li><b>write bytes</b>: write payloads, from the moment the reader reads them to the end of the
 * write (the buffer is free before the reply is queued);
 * <li><b>read bytes</b>: read data, from the start of the read until its reply is on the socket.
 * </ul>
 * Slots and write bytes come back by themselves, as requests finish: the reader waits for them
 * (parks), which stops it reading and pushes back on the client through TCP. Read bytes come back
 * only as the client reads its replies, so the reader never waits for them: a read that does not
 * fit waits as a request header (the caller's deferred reads) and starts when bytes come back.
 * A client that writes many requests before it reads a reply, or whose buffers are smaller than
 * what the server has in flight, is therefore never stalled. The three counts live in one atomic
 * (slots, write and read bytes in 4 KiB units), so taking and giving back cost one atomic
 * operation; {@code unanswered} counts requests whose reply is not yet written or dropped.
 * Data plane: only the connection's reader takes; any thread gives back.
 */
final class InFlight {
    private static final int UNIT_SHIFT = 12;                     // bytes are counted in 4 KiB units
    private static final int SLOT_SHIFT = 48;
    private static final int WRITE_SHIFT = 24;
    private static final long FIELD = (1L << 24) - 1;
    private static final long ONE_SLOT = 1L << SLOT_SHIFT;
    /** The largest budget the packed counts hold (2^24 units of 4 KiB). */
    static final long MAX_BYTES = FIELD << UNIT_SHIFT;

    private final int maxRequests;
    private final long maxUnits;
    private final long maxBytes;
    private final AtomicLong used = new AtomicLong();             // slots << 48 | write units << 24 | read units
    private final AtomicInteger unanswered = new AtomicInteger();
    private volatile Thread waiting;

    /**
     * @param maxRequests requests running at once
     * @param maxBytes    write payload bytes, and read bytes, each at most (a request larger than
     *                    this takes all of it, so any request can run alone)
     */
    private Runnable beforeWaiting = () -> { };

    InFlight(int maxRequests, long maxBytes) {
        this.maxRequests = Math.min(maxRequests, (1 << (64 - SLOT_SHIFT - 1)) - 1);
        this.maxBytes = Math.min(Math.max(maxBytes, 1L << UNIT_SHIFT), MAX_BYTES);
        this.maxUnits = units(this.maxBytes);
    }

    /** The bytes a request of {@code length} counts for: its length, at most the whole budget. */
    long share(long length) {
        return Math.min(length, maxBytes);
    }

    private static long units(long bytes) {
        return (bytes + (1L << UNIT_SHIFT) - 1) >>> UNIT_SHIFT;
    }

    private static int slots(long u) {
        return (int) (u >>> SLOT_SHIFT);
    }

    private static long writeUnits(long u) {
        return (u >>> WRITE_SHIFT) & FIELD;
    }

    private static long readUnits(long u) {
        return u & FIELD;
    }

    // ---- the reader ------------------------------------------------------------------------

    /** A request: a slot for it and {@code writeBytes} of payload (0 for anything but a write), waiting while over the bound. */
    void take(long writeBytes) throws InterruptedException {
        long add = ONE_SLOT | (units(writeBytes) << WRITE_SHIFT);
        long w = units(writeBytes);
        if (!fits(w, 0)) {                                         // only this thread adds, so room seen stays room
            awaitUntil(() -> fits(w, 0));
        }
        used.getAndAdd(add);
        unanswered.incrementAndGet();
    }

    /** A read of {@code readBytes}, if a slot and the bytes are free now (never waits); else false and nothing taken. */
    boolean tryTakeRead(long readBytes) {
        long r = units(readBytes);
        while (true) {
            long u = used.get();
            if (slots(u) >= maxRequests || readUnits(u) + r > maxUnits) {
                return false;
            }
            if (used.compareAndSet(u, u + ONE_SLOT + r)) {
                unanswered.incrementAndGet();
                return true;
            }
        }
    }

    private boolean fits(long writeUnits, long readUnits) {
        long u = used.get();
        return slots(u) < maxRequests && writeUnits(u) + writeUnits <= maxUnits && readUnits(u) + readUnits <= maxUnits;
    }

    /** Waits until fewer than {@code limit} reads are deferred, as {@code deferred} counts them. */
    void awaitDeferredBelow(int limit, java.util.function.IntSupplier deferred) throws InterruptedException {
        if (deferred.getAsInt() >= limit) {
            awaitUntil(() -> deferred.getAsInt() < limit);
        }
    }

    /**
     * Waits until every request taken has been answered (its reply written, or dropped with the
     * client gone) and {@code nothingElse} holds (no deferred read is left; it is checked again
     * whenever the reader is woken).
     */
    void awaitNone(java.util.function.BooleanSupplier nothingElse) {
        boolean interrupted = false;
        while (true) {
            try {
                if (unanswered.get() > 0 || !nothingElse.getAsBoolean()) {
                    awaitUntil(() -> unanswered.get() == 0 && nothingElse.getAsBoolean());
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

    // ---- any thread ------------------------------------------------------------------------

    /** A request taken with {@code writeBytes} has run (its reply is queued): its slot and payload bytes are free. */
    void finished(long writeBytes) {
        used.getAndAdd(-(ONE_SLOT | (units(writeBytes) << WRITE_SHIFT)));
        wake();
    }

    /** The reply of a read of {@code readBytes} is written (or dropped): its bytes are free. */
    void readSent(long readBytes) {
        used.getAndAdd(-units(readBytes));
    }

    /** A request's reply is written or dropped. */
    void answered() {
        if (unanswered.decrementAndGet() == 0) {
            wake();
        }
    }

    /** Wakes the reader if it waits (room came back, a deferred read started). */
    void wake() {
        Thread w = waiting;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /** Requests running or waiting for their reply to be written. */
    int requests() {
        return unanswered.get();
    }

    /** Payload bytes in flight now (write payloads and read data, counted in 4 KiB units). */
    long bytes() {
        long u = used.get();
        return (writeUnits(u) + readUnits(u)) << UNIT_SHIFT;
    }

    private interface Condition {
        boolean holds();
    }

    /** Runs {@code hook} whenever the reader is about to wait here (it writes its queued replies then). */
    void beforeWaiting(Runnable hook) {
        beforeWaiting = hook;
    }

    private void awaitUntil(Condition c) throws InterruptedException {
        beforeWaiting.run();
        waiting = Thread.currentThread();
        try {
            while (!c.holds()) {                                   // checked after publishing the waiter: no lost wake-up
                LockSupport.park(this);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        } finally {
            waiting = null;
        }
    }
}
