package org.nbdosgi.plugin.file;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The platform threads one export reads the disk with (see {@link CacheFirstReads}): up to
 * {@link #THREADS} reads wait for the device at once, as nbdkit's worker threads do; the threads
 * start when needed and end after a few idle seconds. Created and shut down on the control plane
 * (instance start and stop); used from the data plane.
 */
final class DiskReads implements Executor, AutoCloseable {
    static final int THREADS = 32;

    private final ThreadPoolExecutor pool;
    private final AtomicInteger busy = new AtomicInteger();

    DiskReads() {
        pool = new ThreadPoolExecutor(THREADS, THREADS, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                Thread.ofPlatform().name("nbd-file-read-", 0).daemon().factory());
        pool.allowCoreThreadTimeOut(true);
    }

    @Override
    public void execute(Runnable read) {
        busy.incrementAndGet();
        try {
            pool.execute(() -> {
                try {
                    read.run();
                } finally {
                    busy.decrementAndGet();
                }
            });
        } catch (RuntimeException e) {
            busy.decrementAndGet();
            throw e;
        }
    }

    /** Whether some read is waiting for the disk right now. */
    boolean busy() {
        return busy.get() > 0;
    }

    /** The export stopped: no request is left, so the idle threads just end. */
    @Override
    public void close() {
        pool.shutdown();
    }
}
