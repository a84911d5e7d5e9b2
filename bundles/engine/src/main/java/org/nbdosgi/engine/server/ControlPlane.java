package org.nbdosgi.engine.server;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The control plane: one platform thread that runs every change to the shape of the server
 * (exports created, rewired, parked, removed), one at a time, so those changes never race each
 * other. It may block (draining an export waits for its requests). Data-plane threads never wait
 * for it. The thread exists only while there is work: it ends after {@link #IDLE_SECONDS} without
 * any (a server that just serves keeps no idle thread for it), never while a task is scheduled.
 */
final class ControlPlane implements AutoCloseable {
    private static final long IDLE_SECONDS = 10;

    private volatile Thread thread;
    private final ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "nbd-control-plane");
        t.setDaemon(true);
        thread = t;
        return t;
    });

    ControlPlane() {
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);   // pending park timeouts die with us
        executor.setKeepAliveTime(IDLE_SECONDS, TimeUnit.SECONDS);
        executor.allowCoreThreadTimeOut(true);
    }

    /** Whether the calling thread is the control plane. */
    boolean isCurrent() {
        return Thread.currentThread() == thread;
    }

    /** Runs {@code task} on the control plane and waits for it; runs it directly if already there. */
    <T> T call(Callable<T> task) throws Exception {
        if (isCurrent()) {
            return task.call();
        }
        if (isDataPlaneThread()) {
            throw new IllegalStateException("a data-plane thread must not wait for the control plane");
        }
        Future<T> f = executor.submit(task);
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            throw (Error) cause;
        }
    }

    /** Queues {@code task} without waiting (for service events that must not block their caller). */
    void submit(Runnable task) {
        executor.execute(task);
    }

    /** Runs {@code task} on the control plane after {@code millis}. */
    void schedule(long millis, Runnable task) {
        executor.schedule(task, millis, TimeUnit.MILLISECONDS);
    }

    /** Threads that serve clients are named with this prefix (see {@link Connection}). */
    static final String DATA_PLANE_PREFIX = "nbd-data-";

    private static boolean isDataPlaneThread() {
        return Thread.currentThread().getName().startsWith(DATA_PLANE_PREFIX);
    }

    @Override
    public void close() throws InterruptedException {
        executor.shutdown();
        executor.awaitTermination(30, TimeUnit.SECONDS);
    }
}
