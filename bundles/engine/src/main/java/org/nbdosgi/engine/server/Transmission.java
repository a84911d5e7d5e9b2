package org.nbdosgi.engine.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.protocol.BufferPool;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.ReplyWriter;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection: the reader's loop over requests, each checked
 * ({@link RequestCheck}), given its share of the in-flight budget and run on a virtual thread of
 * its own ({@link #execute}), replying when done, in any order. In-flight requests and bytes are
 * bounded: past the bound the reader stops reading, which pushes back on the client through TCP.
 * Data plane.
 */
final class Transmission {
    private static final Logger LOG = LoggerFactory.getLogger(Transmission.class);
    private static final long UNSIGNED_INT = 0xFFFFFFFFL;
    /**
     * Requests up to this size on a chain that never waits run on the reader itself; larger ones
     * still get a thread, so the reader goes on reading while their bytes are copied.
     */
    private static final long INLINE_MAX = 64 * 1024;
    /** Piece size for finding how far a failed read gets. */
    private static final int READ_PIECE = 64 * 1024;

    private record Request(int flags, int type, long cookie, long offset, long length) {
    }

    private final Connection connection;
    private final long id;
    private final Session session;
    private final boolean structured;
    private final boolean fuaAllowed;
    private final RequestCheck check;
    private final Transport transport;
    private final WireIn in;
    private final ReplyWriter writer;
    private final BufferPool pool;
    private final InFlight inFlight;
    private final Thread.Builder requestThreads;
    private final LongAdder requests = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();

    Transmission(Connection connection, Negotiated agreed, Transport transport, WireIn in, BufferPool pool,
                 int maxRequests, int maxBytes) {
        this.connection = connection;
        this.id = connection.id();
        this.session = agreed.session();
        this.structured = agreed.structuredReplies();
        this.fuaAllowed = agreed.has(Nbd.FLAG_SEND_FUA);
        this.check = RequestCheck.of(agreed);
        this.transport = transport;
        this.in = in;
        this.writer = new ReplyWriter(transport, pool, structured);
        this.pool = pool;
        this.inFlight = new InFlight(maxRequests, maxBytes);
        this.requestThreads = Thread.ofVirtual().name(ControlPlane.DATA_PLANE_PREFIX + id + "-request");
    }

    int inFlight() {
        return inFlight.requests();
    }

    long requests() {
        return requests.sum();
    }

    long bytesRead() {
        return bytesRead.sum();
    }

    long bytesWritten() {
        return bytesWritten.sum();
    }

    /**
     * Reads and starts requests until the client disconnects or breaks the protocol; returns when
     * every request started has replied (or found the client gone).
     */
    void run() throws IOException, InterruptedException {
        in.readAhead();
        boolean disconnected = false;
        try {
            disconnected = readRequests();
        } finally {
            inFlight.awaitNone();                           // requests fail fast once the transport is gone
        }
        if (disconnected) {
            transport.finish();                             // after the last reply: TLS is shut down cleanly
        }
    }

    /** True when the client disconnected (NBD_CMD_DISC), false when it broke the protocol. */
    private boolean readRequests() throws IOException, InterruptedException {
        while (true) {
            int magic = in.readInt();
            int flags = in.readShort();
            int type = in.readShort();
            long cookie = in.readLong();
            long offset = in.readLong();
            long length = in.readInt() & UNSIGNED_INT;
            if (magic != Nbd.REQUEST_MAGIC) {
                LOG.info("connection {}: bad request magic {}, disconnecting", id, Integer.toHexString(magic));
                return false;
            }
            if (type == Nbd.CMD_DISC) {
                LOG.debug("connection {}: client disconnected", id);
                return true;
            }
            RequestCheck.Refusal refused = check.check(type, flags, offset, length);
            if (refused != null) {
                if (type == Nbd.CMD_WRITE) {
                    in.skip(length);                        // stay in step without holding the payload
                }
                LOG.debug("connection {}: {} refused: {}", id, Nbd.commandName(type), refused.reason());
                writer.error(cookie, refused.error().code(), refused.reason(), () -> { });
                continue;
            }
            Request r = new Request(flags, type, cookie, offset, length);
            int bytes = (type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) ? inFlight.share(length) : 0;
            inFlight.take(bytes);
            ByteBuffer payload = null;
            try {
                if (type == Nbd.CMD_WRITE) {
                    payload = pool.acquire((int) length);
                    in.readFully(payload);
                    payload.flip();
                }
            } catch (IOException e) {
                if (payload != null) {
                    pool.release(payload);
                }
                inFlight.giveBack(bytes);
                throw e;
            }
            ByteBuffer p = payload;
            if (length <= INLINE_MAX && session.top().isNonBlocking()) {
                execute(r, p, bytes);                       // done in microseconds: no thread hand-over
            } else {
                requestThreads.start(() -> execute(r, p, bytes));
            }
        }
    }

    /**
     * Runs one request and queues its reply. The request's buffer and its share of the in-flight
     * budget go back when the reply has been written (the {@code done} the reply writer runs).
     */
    private void execute(Request r, ByteBuffer payload, int bytes) {
        ByteBuffer[] buffer = {payload};
        Runnable done = () -> {
            requests.increment();
            if (buffer[0] != null) {
                pool.release(buffer[0]);
            }
            inFlight.giveBack(bytes);
        };
        try {
            String shutdown = connection.shutdownReason();
            if (shutdown != null) {
                throw new NbdException(NbdError.ESHUTDOWN, shutdown);
            }
            int fuaFlag = (r.flags & Nbd.CMD_FLAG_FUA) != 0 && fuaAllowed ? Flags.FUA : 0;
            switch (r.type) {
                case Nbd.CMD_READ -> {
                    buffer[0] = pool.acquire((int) r.length);
                    read(r, buffer[0], done);
                    return;
                }
                case Nbd.CMD_WRITE -> {
                    session.run(top -> top.write(payload, r.offset, fuaFlag));
                    bytesWritten.add(r.length);
                }
                case Nbd.CMD_FLUSH -> session.run(top -> top.flush(0));
                case Nbd.CMD_TRIM -> session.run(top -> top.trim(r.offset, r.length, fuaFlag));
                case Nbd.CMD_WRITE_ZEROES -> {
                    int f = fuaFlag
                            | ((r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0 ? Flags.MAY_TRIM : 0)
                            | ((r.flags & Nbd.CMD_FLAG_FAST_ZERO) != 0 ? Flags.FAST_ZERO : 0);
                    session.run(top -> top.zero(r.offset, r.length, f));
                }
                case Nbd.CMD_CACHE -> session.run(top -> top.cache(r.offset, r.length, 0));
                case Nbd.CMD_BLOCK_STATUS -> {
                    boolean reqOne = (r.flags & Nbd.CMD_FLAG_REQ_ONE) != 0;
                    Extents[] result = new Extents[1];
                    session.run(top -> {
                        result[0] = new Extents(r.offset, top.size());
                        top.extents(r.offset, r.length, reqOne ? Flags.REQ_ONE : 0, result[0]);
                    });
                    send(done, d -> writer.blockStatus(r.cookie, Nbd.META_CONTEXT_BASE_ALLOCATION, result[0], r.length, reqOne, d));
                    return;
                }
                default -> throw new NbdException(NbdError.EINVAL, "unknown command " + r.type);
            }
            send(done, d -> writer.ok(r.cookie, d));
        } catch (IOException | InterruptedException e) {
            replyError(r, e, done);
        } catch (RuntimeException | Error e) {
            // never leave a request without a reply: its client would wait for ever
            LOG.error("connection {}: {} failed unexpectedly", id, Nbd.commandName(r.type), e);
            replyError(r, new NbdException(NbdError.EIO, e.toString(), e), done);
        }
    }

    /**
     * Reads and replies. When a large read fails and structured replies allow it, the range is read
     * again piece by piece, and the client gets the data up to the failure and the failing offset
     * (NBD_REPLY_TYPE_ERROR_OFFSET) rather than nothing.
     */
    private void read(Request r, ByteBuffer buf, Runnable done) throws IOException, InterruptedException {
        boolean df = (r.flags & Nbd.CMD_FLAG_DF) != 0;
        try {
            session.run(top -> top.read(buf, r.offset, 0));
        } catch (IOException e) {
            if (!structured || df || r.length <= READ_PIECE || NbdException.errorOf(e) == NbdError.ESHUTDOWN) {
                throw e;
            }
            int good = 0;
            IOException failure = null;
            while (good < r.length && failure == null) {
                int at = good;
                int n = (int) Math.min(READ_PIECE, r.length - at);
                try {
                    session.run(top -> top.read(buf.slice(at, n), r.offset + at, 0));
                    good += n;
                } catch (IOException pieceFailed) {
                    failure = pieceFailed;
                }
            }
            if (failure != null) {
                NbdError err = NbdException.errorOf(failure);
                String why = failure.getMessage() == null ? err.text() : failure.getMessage();
                LOG.debug("connection {}: read at {}+{} failed after {} bytes: {}", id, r.offset, r.length, good, why);
                ByteBuffer prefix = buf.slice(0, good);
                send(done, d -> writer.readPrefixThenError(r.cookie, r.offset, prefix, err.code(), why, d));
                return;
            }
        }
        bytesRead.add(r.length);
        send(done, d -> writer.readData(r.cookie, r.offset, buf, df, d));
    }

    private interface Reply {
        void send(Runnable done) throws IOException;
    }

    /** Queues a reply (which owns {@code done}); if the client is gone, closes the transport so the reader stops too. */
    private void send(Runnable done, Reply reply) {
        try {
            reply.send(done);
        } catch (IOException e) {
            LOG.debug("connection {}: reply not sent: {}", id, e.toString());
            Connection.closeQuietly(transport);
        }
    }

    private void replyError(Request r, Exception e, Runnable done) {
        NbdError err = e instanceof InterruptedException ? NbdError.ESHUTDOWN : NbdException.errorOf(e);
        if (err == NbdError.EIO && !(e instanceof NbdException)) {
            LOG.warn("connection {}: {} at {}+{} failed: {}", id, Nbd.commandName(r.type), r.offset, r.length, e.toString());
        } else {
            LOG.debug("connection {}: {} failed: {} {}", id, Nbd.commandName(r.type), err, e.getMessage());
        }
        String why = e.getMessage() == null ? err.text() : e.getMessage();
        send(done, d -> writer.error(r.cookie, err.code(), why, d));
    }
}
