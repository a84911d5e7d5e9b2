package org.nbdosgi.filter.readahead;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection: each read first tells its {@link Window}, and what the window says to prefetch
 * goes below as cache requests of at most {@link #CHUNK} bytes, each on a virtual thread of its own
 * (so a big window is fetched by several requests at once, and the read itself never waits for
 * them), at most {@link #MAX_CHUNKS} at a time. Failed prefetches are ignored: the reads that follow
 * fetch the data themselves and report the error. Data plane; {@link #close()} (control plane) waits
 * for the prefetches still running, so none outlives the handles below.
 */
final class ReadaheadHandle extends FilterHandle {
    private static final Logger LOG = LoggerFactory.getLogger(ReadaheadHandle.class);
    static final int CHUNK = 4 << 20;
    static final int MAX_CHUNKS = 8;
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
    private static final AtomicLong THREADS = new AtomicLong();

    private final Window window = new Window();
    private final boolean prefetching;
    private final long size;
    private final Object lock = new Object();
    private int running;                               // guarded by lock
    private boolean closed;                            // guarded by lock

    /**
     * @param prefetching false when the layer below has no cache to prefetch into: then reads pass
     *                    straight through
     */
    ReadaheadHandle(Handle next, boolean prefetching) throws IOException {
        super(next);
        this.prefetching = prefetching;
        this.size = next.size();
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        if (prefetching) {
            Window.Range r = window.read(offset, buf.remaining(), size);
            if (r != null) {
                prefetch(r);
            }
        }
        next.read(buf, offset, flags);
    }

    /** Sends [from, to) below in chunks; what finds no free slot is given back to the window. */
    private void prefetch(Window.Range r) {
        for (long from = r.from(); from < r.to(); from += CHUNK) {
            long length = Math.min(CHUNK, r.to() - from);
            if (!take()) {
                window.giveBack(new Window.Range(from, r.to()));
                return;
            }
            long at = from;
            Thread.ofVirtual().name("nbd-data-readahead-" + THREADS.incrementAndGet()).start(() -> {
                try {
                    next.cache(at, length, 0);
                } catch (IOException | RuntimeException e) {
                    LOG.debug("readahead: prefetching {}+{} failed: {}", at, length, e.toString());
                } finally {
                    done();
                }
            });
        }
    }

    /** Prefetches running now. */
    int running() {
        synchronized (lock) {
            return running;
        }
    }

    private boolean take() {
        synchronized (lock) {
            if (closed || running >= MAX_CHUNKS) {
                return false;
            }
            running++;
            return true;
        }
    }

    private void done() {
        synchronized (lock) {
            running--;
            lock.notifyAll();
        }
    }

    /** Stops new prefetches and waits for those running (bounded: a stuck one is logged and left). */
    @Override
    public void close() {
        long deadline = System.nanoTime() + CLOSE_WAIT.toNanos();
        synchronized (lock) {
            closed = true;
            try {
                while (running > 0 && System.nanoTime() < deadline) {
                    lock.wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (running > 0) {
                LOG.warn("readahead: {} prefetches still running after {} s at close", running, CLOSE_WAIT.toSeconds());
            }
        }
    }
}
