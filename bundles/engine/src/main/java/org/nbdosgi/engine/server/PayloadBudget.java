package org.nbdosgi.engine.server;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The payload bytes the whole server may hold at once (request payloads being written, read data
 * until its reply is sent), shared by every connection: {@code nbd.payload.budget}, by default a
 * quarter of the direct memory the JVM may use. Taking is backpressure, never an error: a
 * connection that finds the budget spent waits (its reader parks before a write's payload; its
 * reads wait as headers), and what comes back goes to the waiters first come, first served, so a
 * busy connection cannot take every byte given back while others wait. Data plane, lock-free while
 * nobody waits.
 */
final class PayloadBudget {
    /** One connection waiting for bytes: a parked thread, or work to start once they are granted. */
    private static final class Waiter {
        final long bytes;
        final Thread thread;
        final Runnable granted;
        volatile boolean done;

        Waiter(long bytes, Thread thread, Runnable granted) {
            this.bytes = bytes;
            this.thread = thread;
            this.granted = granted;
        }
    }

    private final long total;
    private final AtomicLong free;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();     // guarded by itself
    private volatile int waiting;

    PayloadBudget(long total) {
        this.total = total;
        this.free = new AtomicLong(total);
    }

    long total() {
        return total;
    }

    /** Bytes held now, by every connection. */
    long used() {
        return total - free.get();
    }

    /** How much of the budget a request of {@code length} bytes takes: all of it at most, so any request can run alone. */
    long share(long length) {
        return Math.min(length, total);
    }

    /** Takes {@code n} bytes if they are free and nobody waits before us. */
    boolean tryTake(long n) {
        if (n == 0) {
            return true;
        }
        if (waiting > 0) {
            return false;                                   // first come, first served
        }
        return subtract(n);
    }

    private boolean subtract(long n) {
        while (true) {
            long f = free.get();
            if (f < n) {
                return false;
            }
            if (free.compareAndSet(f, f - n)) {
                return true;
            }
        }
    }

    /** Takes {@code n} bytes, parking the calling thread in line until they are granted. */
    void take(long n) throws InterruptedException {
        if (tryTake(n)) {
            return;
        }
        Waiter w = new Waiter(n, Thread.currentThread(), null);
        enqueue(w);
        while (!w.done) {
            LockSupport.park(this);
            if (Thread.interrupted()) {
                if (!cancel(w)) {
                    giveBack(n);                            // granted as we were interrupted
                }
                throw new InterruptedException();
            }
        }
    }

    /** Takes {@code n} bytes now and returns true, or queues {@code granted} to run (on the giving thread) once they are. */
    boolean takeOrWait(long n, Runnable granted) {
        if (tryTake(n)) {
            return true;
        }
        enqueue(new Waiter(n, null, granted));
        return false;
    }

    /** Any thread: {@code n} bytes taken earlier are free again; waiters in line get them first. */
    void giveBack(long n) {
        if (n == 0) {
            return;
        }
        free.addAndGet(n);
        if (waiting > 0) {
            serve();
        }
    }

    private void enqueue(Waiter w) {
        synchronized (waiters) {
            waiters.addLast(w);
            waiting++;
        }
        serve();                                            // bytes may have come back meanwhile
    }

    private boolean cancel(Waiter w) {
        synchronized (waiters) {
            if (waiters.remove(w)) {
                waiting--;
                return true;
            }
            return false;
        }
    }

    /** Grants the waiters at the head of the line as long as their bytes are free, then wakes or starts them. */
    private void serve() {
        List<Waiter> go = null;
        synchronized (waiters) {
            Waiter head;
            while ((head = waiters.peekFirst()) != null && subtract(head.bytes)) {
                waiters.pollFirst();
                waiting--;
                head.done = true;
                if (go == null) {
                    go = new ArrayList<>();
                }
                go.add(head);
            }
        }
        if (go != null) {
            for (Waiter w : go) {
                if (w.thread != null) {
                    LockSupport.unpark(w.thread);
                } else {
                    w.granted.run();
                }
            }
        }
    }
}
