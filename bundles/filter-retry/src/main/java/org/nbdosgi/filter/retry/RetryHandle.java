package org.nbdosgi.filter.retry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection through the retry filter. Data plane, requests in parallel: each runs on the
 * current handle below under the read side of a lock; a request that fails waits its delay (its
 * virtual thread sleeping), then reopens the layers below under the write side, which waits for the
 * requests still running on the old handle (they are failing too, or finishing), and tries again
 * on the new one. Requests that failed on the same handle reopen it once: the others find it
 * already replaced and simply try again. Each request counts its own retries, as in nbdkit.
 *
 * <p>The capabilities are the first handle's ({@code next}; the engine asks them once, at open),
 * as the client was promised; a reopened handle that no longer keeps that promise (another size,
 * or read-only for a writable client) counts as a failed reopen. ENOTSUP is an answer, not a
 * failure, and is never retried.
 */
final class RetryHandle extends FilterHandle {
    private static final Logger LOG = LoggerFactory.getLogger(RetryHandle.class);

    private final Layer layer;
    private final ClientContext client;
    private final RetryPolicy policy;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicInteger reopens = new AtomicInteger();
    private final long promisedSize;
    private final boolean promisedWrite;

    // replaced under the write lock, read under the read lock
    private Handle current;
    private long generation;
    private boolean open = true;
    private boolean readOnlyNow;

    RetryHandle(Layer layer, ClientContext client, RetryPolicy policy) throws IOException {
        super(layer.open(client));
        this.layer = layer;
        this.client = client;
        this.policy = policy;
        this.current = next;
        this.promisedSize = next.size();
        this.promisedWrite = next.canWrite();
    }

    /** One attempt of a request on the current handle below. */
    private interface Attempt {
        void run(Handle h) throws IOException;
    }

    /** Runs {@code attempt}, retrying it as the policy says; the last failure goes to the client. */
    private void call(String op, boolean write, Attempt attempt) throws IOException {
        for (int retry = 0; ; retry++) {
            long failedOn;
            IOException failure;
            lock.readLock().lock();
            try {
                if (write && readOnlyNow) {
                    throw new NbdException(NbdError.EPERM, "retry: the layers below were reopened read-only (retry-readonly)");
                }
                failedOn = generation;
                if (!open) {
                    failure = new NbdException(NbdError.EIO, "retry: the layers below could not be reopened");
                } else {
                    try {
                        attempt.run(current);
                        return;
                    } catch (NbdException e) {
                        if (e.error() == NbdError.ENOTSUP) {
                            throw e;
                        }
                        failure = e;
                    } catch (IOException e) {
                        failure = e;
                    }
                }
            } finally {
                lock.readLock().unlock();
            }
            if (retry >= policy.retries()) {
                if (policy.retries() > 0) {
                    LOG.warn("retry: {} failed after {} retries: {}", op, retry, failure.getMessage());
                }
                throw failure;
            }
            LOG.debug("retry: {} failed ({}); retry {} in {} ms", op, failure.getMessage(), retry + 1,
                    policy.delayBefore(retry).toMillis());
            try {
                Thread.sleep(policy.delayBefore(retry));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failure;
            }
            reopen(failedOn);
        }
    }

    /** Reopens the layers below unless someone already did since the handle failed. */
    private void reopen(long failedOn) {
        lock.writeLock().lock();
        try {
            if (generation != failedOn) {
                return;
            }
            generation++;
            reopens.incrementAndGet();
            ClientContext ctx = policy.readOnly() ? client.withReadOnly(true) : client;
            readOnlyNow |= policy.readOnly();
            try {
                current = layer.reopen(current, ctx);
            } catch (IOException | RuntimeException e) {
                open = false;
                LOG.debug("retry: reopening the layers below failed: {}", e.getMessage());
                return;
            }
            String broken = broken(current);
            open = broken == null;
            if (broken != null) {
                LOG.warn("retry: the reopened layers below {}; not used", broken);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** What the reopened handle no longer offers that the client was promised, or null. */
    private String broken(Handle h) {
        try {
            if (h.size() != promisedSize) {
                return "have another size (" + h.size() + ", not " + promisedSize + ")";
            }
            if (promisedWrite && !readOnlyNow && !h.canWrite()) {
                return "are read-only";
            }
            return null;
        } catch (IOException e) {
            return "fail: " + e.getMessage();
        }
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        call("read", false, h -> h.read(buf, offset, flags));
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        call("write", true, h -> h.write(buf, offset, flags));
    }

    @Override
    public void flush(int flags) throws IOException {
        call("flush", false, h -> h.flush(flags));
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        call("trim", true, h -> h.trim(offset, length, flags));
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        call("zero", true, h -> h.zero(offset, length, flags));
    }

    /** Each attempt collects into its own list, so a failed one leaves nothing behind. */
    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        Extents[] got = new Extents[1];
        call("extents", false, h -> {
            got[0] = new Extents(extents.start(), extents.end());
            h.extents(offset, length, flags, got[0]);
        });
        for (int i = 0; i < got[0].count(); i++) {
            extents.add(got[0].offset(i), got[0].length(i), got[0].type(i));
        }
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        call("cache", false, h -> h.cache(offset, length, flags));
    }

    /** The handle below is closed by the engine. */
    @Override
    public void close() {
        if (reopens.get() > 0) {
            LOG.debug("retry: {} reopens for connection {}", reopens.get(), client.connectionId());
        }
    }
}
