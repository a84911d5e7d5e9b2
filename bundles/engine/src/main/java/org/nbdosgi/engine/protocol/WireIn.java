package org.nbdosgi.engine.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.transport.Transport;

/**
 * Reading from a client's transport, through one pooled direct buffer per connection, given back
 * by {@link #release} when the connection ends. Used by one thread only (the connection's reader).
 *
 * <p>It starts exact: each read asks the transport for no more than the bytes wanted, so nothing
 * past the current option is ever taken from the stream (NBD_OPT_STARTTLS needs that: what follows
 * it belongs to TLS); a small buffer does. {@link #readAhead} turns on buffering for transmission,
 * in a 64 KiB buffer: each refill takes as much as the transport has, so several small requests
 * cost one system call.
 */
public final class WireIn {
    private static final int EXACT = 4096;
    private static final int AHEAD = 64 * 1024;

    private Transport transport;                             // replaced once, by the TLS transport after STARTTLS
    private final BufferPool pool;
    private ByteBuffer buf;
    private boolean readAhead;
    private boolean stampArrivals;
    private long arrived;

    public WireIn(Transport transport, BufferPool pool) {
        this.transport = transport;
        this.pool = pool;
        this.buf = pool.acquire(EXACT).flip();
    }

    /**
     * Reads from {@code next} from now on: after NBD_OPT_STARTTLS, the TLS transport over the same
     * stream. Exact reading guarantees nothing of the old transport is buffered at that point.
     */
    public void continueOn(Transport next) {
        if (buf.hasRemaining()) {
            throw new IllegalStateException("bytes of the previous transport are still buffered");
        }
        transport = next;
    }

    /** From now on, refills take as much as the transport has (transmission). */
    public void readAhead() {
        if (!readAhead) {
            ByteBuffer bigger = pool.acquire(AHEAD);
            bigger.put(buf).flip();                          // nothing is left unread in exact mode; kept all the same
            pool.release(buf);
            buf = bigger;
            readAhead = true;
        }
    }

    /** The connection is over: the buffer goes back to the pool. */
    public void release() {
        if (buf != null) {
            pool.release(buf);
            buf = null;
        }
    }

    /**
     * From now on, each refill notes the time it brought bytes ({@link #arrived}): the requests in
     * one refill arrived together, so timing them costs one clock read per system call, not per request.
     */
    public void stampArrivals() {
        stampArrivals = true;
    }

    /** {@link System#nanoTime()} when the bytes last read from the buffer arrived (after {@link #stampArrivals}). */
    public long arrived() {
        return arrived;
    }

    /**
     * Makes at least {@code n} bytes available (at most 4 KiB), or throws EOFException. Exact,
     * it reads no more than {@code want} bytes ({@code n <= want}) in all.
     */
    private void need(int n, int want) throws IOException {
        if (buf.remaining() >= n) {
            return;
        }
        buf.compact();
        if (!readAhead) {
            buf.limit(want);
        }
        try {
            while (buf.position() < n) {
                if (transport.read(buf) < 0) {
                    throw new EOFException("client closed the connection");
                }
            }
        } finally {
            buf.flip();
        }
        if (stampArrivals) {
            arrived = System.nanoTime();
        }
    }

    public int readInt() throws IOException {
        need(4, 4);
        return buf.getInt();
    }

    public long readLong() throws IOException {
        need(8, 8);
        return buf.getLong();
    }

    public int readShort() throws IOException {
        need(2, 2);
        return buf.getShort() & 0xffff;
    }

    /** Fills {@code dst} from its position to its limit (buffered bytes first, then the transport). */
    public void readFully(ByteBuffer dst) throws IOException {
        int n = Math.min(buf.remaining(), dst.remaining());
        if (n > 0) {
            dst.put(buf.slice(buf.position(), n));
            buf.position(buf.position() + n);
        }
        while (dst.hasRemaining()) {
            if (transport.read(dst) < 0) {
                throw new EOFException("client closed the connection");
            }
        }
    }

    /** Reads and drops {@code n} bytes, a buffer at a time, without holding them all in memory. */
    public void skip(long n) throws IOException {
        while (n > 0) {
            if (!buf.hasRemaining()) {
                need(1, (int) Math.min(n, buf.capacity()));
            }
            int k = (int) Math.min(n, buf.remaining());
            buf.position(buf.position() + k);
            n -= k;
        }
    }
}
