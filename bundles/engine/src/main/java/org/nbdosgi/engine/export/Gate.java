package org.nbdosgi.engine.export;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The drain gate of one export. Data plane: every request (and every handle open) {@link #enter}s
 * and {@link #exit}s; on the fast path that is one atomic increment and decrement, no lock.
 * Control plane: {@link #close()} stops new entries (they wait, they are not failed) and waits for
 * those inside to leave; {@link #open()} lets the waiters in. Only the control plane may close the
 * gate: a data-plane thread that closed it and then waited would wait for itself.
 */
public final class Gate {
    private final AtomicLong inside = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final BooleanSupplier onControlPlane;
    private volatile boolean closed;
    // how often and how long the gate was closed: the control plane writes, readers of metrics read,
    // both under pauseLock (never taken by a request), so a reader never sees a pause counted twice
    private final Object pauseLock = new Object();
    private long pauses;
    private long pausedNanos;
    private long closedAt;

    /** @param onControlPlane tells whether the calling thread is the control plane */
    public Gate(BooleanSupplier onControlPlane) {
        this.onControlPlane = onControlPlane;
    }

    /** Data plane: waits while the gate is closed, up to the timeout; false if it timed out. */
    public boolean enter(long timeout, TimeUnit unit) throws InterruptedException {
        if (tryEnter()) {
            return true;
        }
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (true) {
            if (tryEnter()) {
                return true;
            }
            lock.lock();
            try {
                while (closed) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    changed.awaitNanos(left);
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** Data plane: enters if the gate is open, without waiting; false if it is closed. */
    public boolean tryEnter() {
        if (closed) {
            return false;
        }
        inside.incrementAndGet();
        if (!closed) {
            return true;
        }
        exit();                                          // lost the race with close(): step back out
        return false;
    }

    /** Data plane: leaves the gate after {@link #enter}. */
    public void exit() {
        if (inside.decrementAndGet() == 0 && closed) {
            signal();
        }
    }

    /** Control plane: closes the gate and waits until nothing is inside. */
    public void close() throws InterruptedException {
        if (!onControlPlane.getAsBoolean()) {
            throw new IllegalStateException("an export can only be drained from the control plane");
        }
        synchronized (pauseLock) {
            if (!closed) {
                closedAt = System.nanoTime();
                closed = true;
            }
        }
        lock.lock();
        try {
            while (inside.get() != 0) {
                changed.await();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Control plane: reopens the gate; waiting requests proceed. */
    public void open() {
        synchronized (pauseLock) {
            if (closed) {
                pausedNanos += System.nanoTime() - closedAt;
                pauses++;
            }
            closed = false;
        }
        signal();
    }

    /** How many times the gate was closed and opened again (rewires, swaps, parks that ended). */
    public long pauses() {
        synchronized (pauseLock) {
            return pauses;
        }
    }

    /** How long the gate has been closed in all, the pause going on now included (it only grows). */
    public long pausedNanos() {
        synchronized (pauseLock) {
            return pausedNanos + (closed ? Math.max(0, System.nanoTime() - closedAt) : 0);
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** Requests inside right now. */
    public long inside() {
        return inside.get();
    }

    private void signal() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
