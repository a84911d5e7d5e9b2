package org.nbdosgi.engine.transport;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Time limits on phases of a connection that a client could otherwise stretch for ever: the
 * handshake (qemu's fix for CVE-2024-7409 allows 10 s), and within it the TLS handshake after
 * NBD_OPT_STARTTLS. {@link #start} arms a {@link Deadline} on a transport; when it passes before
 * the phase ends, the transport is closed, which fails whatever read or write the connection's
 * thread is blocked in (a TLS transport wraps the plain one and closing the plain one ends it
 * too). The phase ends with {@link Deadline#cancel}, which says whether it was in time: a deadline
 * that fired has closed the transport, or is about to.
 *
 * <p>One scheduler thread serves the whole server, so a deadline costs a queue entry, not a thread.
 * It is a platform thread that ends {@value #IDLE_SECONDS} s after its last deadline, so an idle
 * server holds none: a virtual one would park with a timeout, and the JDK then starts its timer
 * thread for virtual threads, which never ends. Data plane: arming and cancelling never block.
 */
public final class Deadlines implements AutoCloseable {
    private static final int IDLE_SECONDS = 5;
    private final ScheduledThreadPoolExecutor timer;

    public Deadlines() {
        timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon().name("nbd-deadlines").factory());
        timer.setKeepAliveTime(IDLE_SECONDS, TimeUnit.SECONDS);
        timer.allowCoreThreadTimeOut(true);
        timer.setRemoveOnCancelPolicy(true);                  // cancelled deadlines do not pile up in the queue
    }

    /** A deadline {@code limit} from now on {@code transport}; {@link Duration#ZERO} means none. */
    public Deadline start(Transport transport, Duration limit) {
        Deadline d = new Deadline(transport);
        if (!limit.isZero() && !limit.isNegative()) {
            d.task = timer.schedule(d::fire, limit.toNanos(), TimeUnit.NANOSECONDS);
        }
        return d;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }

    /** One armed time limit. */
    public static final class Deadline {
        private static final int ARMED = 0;
        private static final int CANCELLED = 1;
        private static final int FIRED = 2;

        private final Transport transport;
        private final AtomicInteger state = new AtomicInteger(ARMED);
        private volatile ScheduledFuture<?> task;

        private Deadline(Transport transport) {
            this.transport = transport;
        }

        private void fire() {
            if (state.compareAndSet(ARMED, FIRED)) {
                try {
                    transport.close();
                } catch (java.io.IOException ignored) {
                    // closed already
                }
            }
        }

        /**
         * The phase is over: disarms the deadline. Returns true if that was in time, false if the
         * deadline passed first (the transport is closed, or being closed).
         */
        public boolean cancel() {
            if (state.compareAndSet(ARMED, CANCELLED)) {
                ScheduledFuture<?> t = task;
                if (t != null) {
                    t.cancel(false);
                }
                return true;
            }
            return state.get() == CANCELLED;
        }

        /** Whether the deadline passed before the phase ended. */
        public boolean passed() {
            return state.get() == FIRED;
        }
    }
}
