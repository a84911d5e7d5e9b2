package org.nbdosgi.engine.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ConnectionInfo;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.protocol.BufferPool;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.ReplyWriter;
import org.nbdosgi.engine.protocol.WireIn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, from the fixed newstyle handshake to the end of transmission. Its own
 * virtual thread negotiates and then reads requests; each request runs on a virtual thread of its
 * own and replies when done, in any order. In-flight requests and bytes are bounded: past the bound
 * the reader stops reading, which pushes back on the client through TCP.
 */
final class Connection implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);
    private static final int MAX_OPTION_LENGTH = 64 * 1024;
    private static final long UNSIGNED_INT = 0xFFFFFFFFL;
    /**
     * Requests up to this size on a chain that never waits run on the reader itself; larger ones
     * still get a thread, so the reader goes on reading while their bytes are copied.
     */
    private static final long INLINE_MAX = 64 * 1024;

    private final long id;
    private final SocketChannel channel;
    private final Engine engine;
    private final BufferPool pool;
    private final String remote;
    private final Instant since = Instant.now();
    private final InFlight inFlight;
    private final LongAdder requests = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final Thread.Builder requestThreads;

    private volatile String requestedName;
    private volatile Session session;
    private volatile String shutdownReason;

    // negotiated state
    private boolean structured;
    private String metaContextExport;
    private boolean blockStatusAllowed;
    private boolean blockSizeAcknowledged;
    private int transmissionFlags;
    private WireIn in;
    private ReplyWriter writer;

    Connection(long id, SocketChannel channel, String remote, Engine engine, int maxRequests, int maxBytes) {
        this.id = id;
        this.channel = channel;
        this.remote = remote;
        this.engine = engine;
        this.pool = engine.pool();
        this.inFlight = new InFlight(maxRequests, maxBytes);
        this.requestThreads = Thread.ofVirtual().name(ControlPlane.DATA_PLANE_PREFIX + id + "-request");
    }

    long id() {
        return id;
    }

    Session session() {
        return session;
    }

    ConnectionInfo info() {
        Session s = session;
        return new ConnectionInfo(id, remote, s == null ? null : s.export().name(), requestedName, since,
                inFlight.requests(), requests.sum(), bytesRead.sum(), bytesWritten.sum());
    }

    /**
     * Ends the connection from the server side: requests not yet started fail with ESHUTDOWN,
     * then the socket closes, which ends the reader. Any thread.
     */
    void shutdown(String why) {
        shutdownReason = why;
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            closeChannel();
        }
    }

    @Override
    public void run() {
        try {
            if (negotiate()) {
                LOG.debug("connection {} from {}: attached to export '{}'", id, remote, session.export().name());
                transmit();
            }
        } catch (EOFException | AsynchronousCloseException e) {
            LOG.debug("connection {}: client went away: {}", id, e.getMessage());
        } catch (IOException e) {
            LOG.debug("connection {}: {}", id, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("connection {}: unexpected failure", id, e);
        } finally {
            inFlight.awaitNone();                           // requests fail fast once the socket is gone
            Session s = session;
            if (s != null) {
                s.close();
            }
            closeChannel();
            engine.connectionClosed(this);
        }
    }

    // ---- handshake -------------------------------------------------------------------------

    /** Runs the option haggling; true when the client entered transmission with an export. */
    private boolean negotiate() throws IOException, InterruptedException {
        WireIn in = new WireIn(channel);
        writeFully(ByteBuffer.allocate(18).putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
                .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip());
        int clientFlags = in.readInt();
        if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
            LOG.info("connection {}: client sent unknown flags {}, disconnecting", id, Integer.toHexString(clientFlags));
            return false;
        }
        boolean noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
        this.in = in;
        while (true) {
            if (in.readLong() != Nbd.IHAVEOPT) {
                LOG.info("connection {}: bad option magic, disconnecting", id);
                return false;
            }
            int option = in.readInt();
            long length = in.readInt() & UNSIGNED_INT;
            if (length > MAX_OPTION_LENGTH) {
                if (option == Nbd.OPT_EXPORT_NAME) {
                    return false;
                }
                in.skip(length);
                optionError(option, Nbd.REP_ERR_TOO_BIG, "option data too long");
                continue;
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            in.readFully(data);
            data.flip();
            switch (option) {
                case Nbd.OPT_EXPORT_NAME -> {
                    return exportName(string(data, data.remaining()), noZeroes);
                }
                case Nbd.OPT_ABORT -> {
                    optionReply(option, Nbd.REP_ACK, null);
                    return false;
                }
                case Nbd.OPT_LIST -> list(option, data);
                case Nbd.OPT_STARTTLS -> {
                    if (data.hasRemaining()) {
                        optionError(option, Nbd.REP_ERR_INVALID, "starttls takes no data");
                    } else {
                        optionError(option, Nbd.REP_ERR_POLICY, "TLS is not available on this server");
                    }
                }
                case Nbd.OPT_INFO, Nbd.OPT_GO -> {
                    if (infoOrGo(option, data)) {
                        return true;
                    }
                }
                case Nbd.OPT_STRUCTURED_REPLY -> {
                    if (data.hasRemaining()) {
                        optionError(option, Nbd.REP_ERR_INVALID, "structured reply takes no data");
                    } else if (structured) {
                        optionError(option, Nbd.REP_ERR_INVALID, "structured replies are already on");
                    } else {
                        structured = true;
                        optionReply(option, Nbd.REP_ACK, null);
                    }
                }
                case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(option, data);
                default -> optionError(option, Nbd.REP_ERR_UNSUP, "option " + option + " is not supported");
            }
        }
    }

    private boolean exportName(String name, boolean noZeroes) throws IOException, InterruptedException {
        requestedName = name;
        Route route = engine.route(name);
        if (route == null) {
            LOG.info("connection {}: unknown export '{}', disconnecting", id, name);
            return false;
        }
        try {
            attach(route);
        } catch (NbdException e) {
            LOG.info("connection {}: export '{}' refused: {}", id, name, e.getMessage());
            return false;
        }
        blockStatusAllowed = structured && name.equals(metaContextExport);
        ByteBuffer b = ByteBuffer.allocate(noZeroes ? 10 : 134);
        b.putLong(session.top().size()).putShort((short) transmissionFlags);
        writeFully(b.position(b.capacity()).flip());
        return true;
    }

    private void list(int option, ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            optionError(option, Nbd.REP_ERR_INVALID, "list takes no data");
            return;
        }
        for (ExportEntry e : engine.listExports()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] desc = e.description() == null ? new byte[0] : e.description().getBytes(StandardCharsets.UTF_8);
            optionReply(option, Nbd.REP_SERVER, ByteBuffer.allocate(4 + name.length + desc.length)
                    .putInt(name.length).put(name).put(desc).flip());
        }
        optionReply(option, Nbd.REP_ACK, null);
    }

    private boolean infoOrGo(int option, ByteBuffer data) throws IOException, InterruptedException {
        if (data.remaining() < 6) {
            optionError(option, Nbd.REP_ERR_INVALID, "option data too short");
            return false;
        }
        long nameLength = data.getInt() & UNSIGNED_INT;
        if (nameLength > data.remaining() - 2) {
            optionError(option, Nbd.REP_ERR_INVALID, "export name length is wrong");
            return false;
        }
        String name = string(data, (int) nameLength);
        int count = data.getShort() & 0xffff;
        if (data.remaining() != 2 * count) {
            optionError(option, Nbd.REP_ERR_INVALID, "information request count is wrong");
            return false;
        }
        Set<Integer> wanted = new HashSet<>();
        for (int i = 0; i < count; i++) {
            wanted.add(data.getShort() & 0xffff);
        }
        requestedName = name;
        Route route = engine.route(name);
        if (route == null) {
            optionError(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return false;
        }
        try {
            attach(route);
        } catch (NbdException e) {
            int err = switch (e.error()) {
                case ESHUTDOWN -> Nbd.REP_ERR_SHUTDOWN;
                case EPERM -> Nbd.REP_ERR_POLICY;
                default -> Nbd.REP_ERR_UNKNOWN;
            };
            optionError(option, err, e.getMessage());
            return false;
        }
        Boundary top = session.top();
        optionReply(option, Nbd.REP_INFO, ByteBuffer.allocate(12).putShort((short) Nbd.INFO_EXPORT)
                .putLong(top.size()).putShort((short) transmissionFlags).flip());
        if (wanted.contains(Nbd.INFO_NAME)) {
            byte[] canonical = route.opened(session.client().exportName()).canonicalName().getBytes(StandardCharsets.UTF_8);
            optionReply(option, Nbd.REP_INFO, ByteBuffer.allocate(2 + canonical.length)
                    .putShort((short) Nbd.INFO_NAME).put(canonical).flip());
        }
        String description = top.description();
        if (wanted.contains(Nbd.INFO_DESCRIPTION) && description != null) {
            byte[] d = description.getBytes(StandardCharsets.UTF_8);
            int n = Math.min(d.length, Nbd.MAX_STRING);
            optionReply(option, Nbd.REP_INFO, ByteBuffer.allocate(2 + n)
                    .putShort((short) Nbd.INFO_DESCRIPTION).put(d, 0, n).flip());
        }
        BlockSize bs = top.blockSize();
        optionReply(option, Nbd.REP_INFO, ByteBuffer.allocate(14).putShort((short) Nbd.INFO_BLOCK_SIZE)
                .putInt(bs.minimum()).putInt(bs.preferred()).putInt(maxPayload(bs)).flip());
        optionReply(option, Nbd.REP_ACK, null);
        if (option == Nbd.OPT_INFO) {
            Session s = session;
            session = null;
            s.close();
            return false;
        }
        blockSizeAcknowledged = wanted.contains(Nbd.INFO_BLOCK_SIZE);
        blockStatusAllowed = structured && name.equals(metaContextExport);
        return true;
    }

    private void attach(Route route) throws IOException, InterruptedException {
        ClientContext client = new ClientContext(route.innerName(), false, remote, id);
        Session s = route.export().attach(client, this::shutdown);
        session = s;
        transmissionFlags = s.promise().flags() | (structured ? Nbd.FLAG_SEND_DF : 0);
    }

    private static int maxPayload(BlockSize bs) {
        return Math.min(bs.maximum(), BlockSize.MAX_PAYLOAD);
    }

    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        if (set) {
            metaContextExport = null;                       // a failed set selects nothing
        }
        if (!structured) {
            optionError(option, Nbd.REP_ERR_INVALID, "negotiate structured replies first");
            return;
        }
        if (data.remaining() < 8) {
            optionError(option, Nbd.REP_ERR_INVALID, "option data too short");
            return;
        }
        long nameLength = data.getInt() & UNSIGNED_INT;
        if (nameLength > data.remaining() - 4) {
            optionError(option, Nbd.REP_ERR_INVALID, "export name length is wrong");
            return;
        }
        String name = string(data, (int) nameLength);
        long queries = data.getInt() & UNSIGNED_INT;
        boolean matched = queries == 0 && !set;
        for (long i = 0; i < queries; i++) {
            if (data.remaining() < 4) {
                optionError(option, Nbd.REP_ERR_INVALID, "query list is truncated");
                return;
            }
            long qlen = data.getInt() & UNSIGNED_INT;
            if (qlen > data.remaining()) {
                optionError(option, Nbd.REP_ERR_INVALID, "query length is wrong");
                return;
            }
            String q = string(data, (int) qlen);
            if (q.equals(Nbd.BASE_ALLOCATION) || (!set && q.equals("base:"))) {
                matched = true;
            }
        }
        if (data.hasRemaining()) {
            optionError(option, Nbd.REP_ERR_INVALID, "trailing data after the queries");
            return;
        }
        if (set && engine.route(name) == null) {
            optionError(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return;
        }
        if (matched) {
            byte[] ctx = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
            optionReply(option, Nbd.REP_META_CONTEXT, ByteBuffer.allocate(4 + ctx.length)
                    .putInt(set ? Nbd.META_CONTEXT_BASE_ALLOCATION : 0).put(ctx).flip());
            if (set) {
                metaContextExport = name;
            }
        }
        optionReply(option, Nbd.REP_ACK, null);
    }

    private void optionReply(int option, int type, ByteBuffer data) throws IOException {
        int len = data == null ? 0 : data.remaining();
        ByteBuffer h = ByteBuffer.allocate(20).putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(len).flip();
        writeFully(h);
        if (data != null) {
            writeFully(data);
        }
    }

    private void optionError(int option, int type, String message) throws IOException {
        LOG.debug("connection {}: option {} refused: {}", id, option, message);
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        optionReply(option, type, ByteBuffer.wrap(m, 0, Math.min(m.length, Nbd.MAX_STRING)));
    }

    private static String string(ByteBuffer data, int length) {
        byte[] b = new byte[length];
        data.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    // ---- transmission ----------------------------------------------------------------------

    private record Request(int flags, int type, long cookie, long offset, long length) {
    }

    private void transmit() throws IOException, InterruptedException {
        writer = new ReplyWriter(channel, pool, structured);
        Boundary promised = session.top();
        long size = promised.size();
        BlockSize bs = promised.blockSize();
        int alignment = blockSizeAcknowledged ? bs.minimum() : 1;
        int maxPayload = maxPayload(bs);
        while (true) {
            int magic = in.readInt();
            int flags = in.readShort();
            int type = in.readShort();
            long cookie = in.readLong();
            long offset = in.readLong();
            long length = in.readInt() & UNSIGNED_INT;
            if (magic != Nbd.REQUEST_MAGIC) {
                LOG.info("connection {}: bad request magic {}, disconnecting", id, Integer.toHexString(magic));
                return;
            }
            if (type == Nbd.CMD_DISC) {
                LOG.debug("connection {}: client disconnected", id);
                return;
            }
            Request r = new Request(flags, type, cookie, offset, length);
            String invalid = validate(r, size, alignment, maxPayload);
            if (invalid != null) {
                if (type == Nbd.CMD_WRITE) {
                    in.skip(length);                        // stay in step without holding the payload
                }
                NbdError err = invalidError(r, invalid);
                LOG.debug("connection {}: {} refused: {}", id, Nbd.commandName(type), invalid);
                writer.error(cookie, err.code(), invalid, () -> { });
                continue;
            }
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

    /** Why a request is refused before it reaches the chain, or null if it may run. */
    private String validate(Request r, long size, int alignment, int maxPayload) {
        int allowed = Nbd.CMD_FLAG_FUA;
        switch (r.type) {
            case Nbd.CMD_READ -> allowed |= structured ? Nbd.CMD_FLAG_DF : 0;
            case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE -> { }
            case Nbd.CMD_WRITE_ZEROES -> allowed |= Nbd.CMD_FLAG_NO_HOLE
                    | ((transmissionFlags & Nbd.FLAG_SEND_FAST_ZERO) != 0 ? Nbd.CMD_FLAG_FAST_ZERO : 0);
            case Nbd.CMD_BLOCK_STATUS -> allowed |= Nbd.CMD_FLAG_REQ_ONE;
            default -> {
                return "unknown command " + r.type;
            }
        }
        if ((r.flags & Nbd.CMD_FLAG_FUA) != 0 && (transmissionFlags & Nbd.FLAG_SEND_FUA) == 0) {
            allowed &= ~Nbd.CMD_FLAG_FUA;
        }
        if ((r.flags & ~allowed) != 0) {
            return "flags 0x" + Integer.toHexString(r.flags) + " are not valid for " + Nbd.commandName(r.type);
        }
        boolean writes = r.type == Nbd.CMD_WRITE || r.type == Nbd.CMD_TRIM || r.type == Nbd.CMD_WRITE_ZEROES;
        if (writes && (transmissionFlags & Nbd.FLAG_READ_ONLY) != 0) {
            return "the export is read-only";
        }
        switch (r.type) {
            case Nbd.CMD_FLUSH -> {
                return (transmissionFlags & Nbd.FLAG_SEND_FLUSH) == 0 ? "flush is not supported" : null;
            }
            case Nbd.CMD_TRIM -> {
                if ((transmissionFlags & Nbd.FLAG_SEND_TRIM) == 0) {
                    return "trim is not supported";
                }
            }
            case Nbd.CMD_WRITE_ZEROES -> {
                if ((transmissionFlags & Nbd.FLAG_SEND_WRITE_ZEROES) == 0) {
                    return "write zeroes is not supported";
                }
            }
            case Nbd.CMD_CACHE -> {
                if ((transmissionFlags & Nbd.FLAG_SEND_CACHE) == 0) {
                    return "cache is not supported";
                }
            }
            case Nbd.CMD_BLOCK_STATUS -> {
                if (!blockStatusAllowed) {
                    return "block status needs base:allocation selected for this export";
                }
                if (r.length == 0) {
                    return "block status of zero length";
                }
            }
            default -> { }
        }
        if ((r.type == Nbd.CMD_READ || r.type == Nbd.CMD_WRITE) && r.length > maxPayload) {
            return "request of " + r.length + " bytes is larger than the maximum " + maxPayload;
        }
        if (r.offset < 0 || r.offset > size - r.length) {
            return "request " + Long.toUnsignedString(r.offset) + "+" + r.length + " is beyond the end of the export (" + size + ")";
        }
        if (alignment > 1 && (r.offset % alignment != 0 || r.length % alignment != 0)) {
            return "request is not aligned to the minimum block size " + alignment;
        }
        return null;
    }

    private static NbdError invalidError(Request r, String why) {
        if (why.startsWith("the export is read-only")) {
            return NbdError.EPERM;
        }
        if (why.contains("beyond the end") && (r.type == Nbd.CMD_WRITE || r.type == Nbd.CMD_WRITE_ZEROES)) {
            return NbdError.ENOSPC;
        }
        return NbdError.EINVAL;
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
            if (shutdownReason != null) {
                throw new NbdException(NbdError.ESHUTDOWN, shutdownReason);
            }
            boolean fua = (r.flags & Nbd.CMD_FLAG_FUA) != 0 && (transmissionFlags & Nbd.FLAG_SEND_FUA) != 0;
            int fuaFlag = fua ? Flags.FUA : 0;
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

    /** Piece size for finding how far a failed read gets. */
    private static final int READ_PIECE = 64 * 1024;

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

    /** Queues a reply (which owns {@code done}); if the client is gone, closes the socket so the reader stops too. */
    private void send(Runnable done, Reply reply) {
        try {
            reply.send(done);
        } catch (IOException e) {
            LOG.debug("connection {}: reply not sent: {}", id, e.toString());
            closeChannel();
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

    private void closeChannel() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
