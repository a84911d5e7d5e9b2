package org.nbdosgi.engine.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;

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
    /**
     * How long the reader polls for the client's next bytes before it sleeps in a read, in
     * transmission. On a virtual machine, a core that sleeps between requests costs the client a
     * wake-up through the hypervisor when it sends the next one: at depth 1 on this development VM,
     * fio spent 7.6 us sending each request to a sleeping server, 1.3 us to one still awake.
     * Between requests, polling costs this core the time it waits, so the reader polls only while
     * the client's last gap was shorter than this; the rest of a write's payload is sure to come, so
     * there it always polls, unless much of it is still to come and the transport would rather the
     * reader slept ({@link #LARGE_REST}). It yields between tries (a thread of ours with work on
     * this core runs) and never polls where the transport cannot read without waiting (TLS).
     */
    static final long POLL_NANOS = 50_000;
    /** A payload's rest from which the reader polls only where the transport {@linkplain Transport#pollsLargePayloads asks for it}. */
    static final int LARGE_REST = 64 * 1024;

    private Transport transport;                             // replaced once, by the TLS transport after STARTTLS
    private final BufferPool pool;
    private ByteBuffer buf;
    private boolean readAhead;
    private boolean stampArrivals;
    private long arrived;
    private boolean pollFirst = true;                        // the client's last gap was short
    private boolean pollable = true;
    private Runnable beforeWaiting = () -> { };
    private BooleanSupplier mayPoll = () -> false;

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

    /** Runs {@code hook} whenever a read may wait for the client's bytes (the reader writes its queued replies then). */
    public void beforeWaiting(Runnable hook) {
        beforeWaiting = hook;
    }

    /**
     * Lets the reader poll for the client's next bytes before it sleeps ({@link #POLL_NANOS}) when
     * {@code idle} says so: when nothing of the connection's is running or being written, so the
     * poll takes no time from the threads that would.
     */
    public void pollWhen(BooleanSupplier idle) {
        mayPoll = idle;
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
                beforeWaiting.run();
                boolean polled = readAhead && pollable && pollFirst && mayPoll.getAsBoolean();
                if (polled && poll(buf)) {
                    continue;
                }
                long start = System.nanoTime();
                if (transport.read(buf) < 0) {
                    throw new EOFException("client closed the connection");
                }
                pollFirst = !polled && System.nanoTime() - start < POLL_NANOS;  // a gap longer than polling would wait: sleep next time too
            }
        } finally {
            buf.flip();
        }
        if (stampArrivals) {
            arrived = System.nanoTime();
        }
    }

    /** Bytes read from the transport and not yet taken. */
    public int buffered() {
        return buf.remaining();
    }

    /** Polls the transport for up to {@link #POLL_NANOS}; true when bytes came. */
    private boolean poll(ByteBuffer into) throws IOException {
        long deadline = System.nanoTime() + POLL_NANOS;
        do {
            int r = transport.tryRead(into);
            if (r != 0) {
                pollable = r > 0;                            // -1: this transport cannot, so never again
                return r > 0;
            }
            Thread.yield();                                  // a thread of ours that has work on this core gets it
        } while (System.nanoTime() < deadline);
        return false;
    }

    /** The int {@code at} bytes past the next unread byte, which must be buffered; nothing is taken. */
    public int peekInt(int at) {
        return buf.getInt(buf.position() + at);
    }

    /** The unsigned short {@code at} bytes past the next unread byte, which must be buffered; nothing is taken. */
    public int peekShort(int at) {
        return buf.getShort(buf.position() + at) & 0xffff;
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
            beforeWaiting.run();
            boolean polls = readAhead && pollable && (dst.remaining() < LARGE_REST || transport.pollsLargePayloads());
            if (polls && poll(dst)) {
                continue;                                    // the rest of a payload is sure to come
            }
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
