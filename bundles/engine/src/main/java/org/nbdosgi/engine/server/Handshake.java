package org.nbdosgi.engine.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixed newstyle handshake of one connection: the greeting, then option haggling until the
 * client enters transmission (NBD_OPT_GO, NBD_OPT_EXPORT_NAME) or leaves. Its result is a
 * {@link Negotiated}. Runs on the connection's reader; {@link #session} and
 * {@link #requestedName} may be read by any thread.
 *
 * <p>The haggling state (structured replies, the selected meta context) lives in fields so that
 * NBD_OPT_STARTTLS can reset it, as the spec requires, when the handshake goes on over TLS.
 */
final class Handshake {
    private static final Logger LOG = LoggerFactory.getLogger(Handshake.class);
    private static final int MAX_OPTION_LENGTH = 64 * 1024;
    private static final long UNSIGNED_INT = 0xFFFFFFFFL;

    private final long id;
    private final Transport transport;
    private final WireIn in;
    private final Routing routing;
    private final Consumer<String> disconnect;

    private volatile String requestedName;
    private volatile Session session;

    private boolean structured;
    private String metaContextExport;
    private int transmissionFlags;

    /**
     * @param in         reads from {@code transport}, not reading ahead
     * @param disconnect ends the connection (with the reason), for the session the client attaches to
     */
    Handshake(long id, Transport transport, WireIn in, Routing routing, Consumer<String> disconnect) {
        this.id = id;
        this.transport = transport;
        this.in = in;
        this.routing = routing;
        this.disconnect = disconnect;
    }

    /** The export name the client asked for last, or null. */
    String requestedName() {
        return requestedName;
    }

    /** The session the client attached to, or null (none yet, or after NBD_OPT_INFO). */
    Session session() {
        return session;
    }

    /** Runs the handshake; what was agreed, or null when the client left or was sent away. */
    Negotiated run() throws IOException, InterruptedException {
        send(ByteBuffer.allocate(18).putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
                .putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES)).flip());
        int clientFlags = in.readInt();
        if ((clientFlags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
            LOG.info("connection {}: client sent unknown flags {}, disconnecting", id, Integer.toHexString(clientFlags));
            return null;
        }
        boolean noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
        while (true) {
            if (in.readLong() != Nbd.IHAVEOPT) {
                LOG.info("connection {}: bad option magic, disconnecting", id);
                return null;
            }
            int option = in.readInt();
            long length = in.readInt() & UNSIGNED_INT;
            if (length > MAX_OPTION_LENGTH) {
                if (option == Nbd.OPT_EXPORT_NAME) {
                    return null;
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
                    return null;
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
                    Negotiated go = infoOrGo(option, data, noZeroes);
                    if (go != null) {
                        return go;
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

    /** NBD_OPT_EXPORT_NAME: attach and enter transmission, or disconnect (it has no error reply). */
    private Negotiated exportName(String name, boolean noZeroes) throws IOException, InterruptedException {
        requestedName = name;
        Route route = routing.route(name);
        if (route == null) {
            LOG.info("connection {}: unknown export '{}', disconnecting", id, name);
            return null;
        }
        try {
            attach(route);
        } catch (NbdException e) {
            LOG.info("connection {}: export '{}' refused: {}", id, name, e.getMessage());
            return null;
        }
        Negotiated agreed = agreed(name, false, noZeroes);
        ByteBuffer b = ByteBuffer.allocate(noZeroes ? 10 : 134);
        b.putLong(session.top().size()).putShort((short) transmissionFlags);
        send(b.position(b.capacity()).flip());
        return agreed;
    }

    private void list(int option, ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            optionError(option, Nbd.REP_ERR_INVALID, "list takes no data");
            return;
        }
        for (ExportEntry e : routing.listExports()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] desc = e.description() == null ? new byte[0] : e.description().getBytes(StandardCharsets.UTF_8);
            optionReply(option, Nbd.REP_SERVER, ByteBuffer.allocate(4 + name.length + desc.length)
                    .putInt(name.length).put(name).put(desc).flip());
        }
        optionReply(option, Nbd.REP_ACK, null);
    }

    /** NBD_OPT_INFO or NBD_OPT_GO; what was agreed when the client entered transmission, else null. */
    private Negotiated infoOrGo(int option, ByteBuffer data, boolean noZeroes) throws IOException, InterruptedException {
        if (data.remaining() < 6) {
            optionError(option, Nbd.REP_ERR_INVALID, "option data too short");
            return null;
        }
        long nameLength = data.getInt() & UNSIGNED_INT;
        if (nameLength > data.remaining() - 2) {
            optionError(option, Nbd.REP_ERR_INVALID, "export name length is wrong");
            return null;
        }
        String name = string(data, (int) nameLength);
        int count = data.getShort() & 0xffff;
        if (data.remaining() != 2 * count) {
            optionError(option, Nbd.REP_ERR_INVALID, "information request count is wrong");
            return null;
        }
        Set<Integer> wanted = new HashSet<>();
        for (int i = 0; i < count; i++) {
            wanted.add(data.getShort() & 0xffff);
        }
        requestedName = name;
        Route route = routing.route(name);
        if (route == null) {
            optionError(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return null;
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
            return null;
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
                .putInt(bs.minimum()).putInt(bs.preferred()).putInt(RequestCheck.maxPayload(bs)).flip());
        optionReply(option, Nbd.REP_ACK, null);
        if (option == Nbd.OPT_INFO) {
            Session s = session;
            session = null;
            s.close();
            return null;
        }
        return agreed(name, wanted.contains(Nbd.INFO_BLOCK_SIZE), noZeroes);
    }

    private Negotiated agreed(String name, boolean blockSizeAcknowledged, boolean noZeroes) {
        return new Negotiated(session, structured, structured && name.equals(metaContextExport), blockSizeAcknowledged,
                transmissionFlags, noZeroes);
    }

    private void attach(Route route) throws IOException, InterruptedException {
        ClientContext client = new ClientContext(route.innerName(), false, transport.peer().address(), id);
        Session s = route.export().attach(client, disconnect);
        session = s;
        transmissionFlags = flags(s.top());
    }

    /** The transmission flags for an export whose top layer is {@code top}. */
    private int flags(Boundary top) {
        int f = Nbd.FLAG_HAS_FLAGS;
        if (!top.canWrite()) {
            f |= Nbd.FLAG_READ_ONLY;
        }
        if (top.canFlush()) {
            f |= Nbd.FLAG_SEND_FLUSH;
        }
        if (top.canFua() != Support.NONE) {
            f |= Nbd.FLAG_SEND_FUA;
        }
        if (top.isRotational()) {
            f |= Nbd.FLAG_ROTATIONAL;
        }
        if (top.canTrim()) {
            f |= Nbd.FLAG_SEND_TRIM;
        }
        if (top.canZero() != Support.NONE) {
            f |= Nbd.FLAG_SEND_WRITE_ZEROES;
            if (top.canFastZero()) {
                f |= Nbd.FLAG_SEND_FAST_ZERO;
            }
        }
        if (structured) {
            f |= Nbd.FLAG_SEND_DF;
        }
        if (top.canMultiConn()) {
            f |= Nbd.FLAG_CAN_MULTI_CONN;
        }
        if (top.canCache() != Support.NONE) {
            f |= Nbd.FLAG_SEND_CACHE;
        }
        return f;
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
        if (set && routing.route(name) == null) {
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
        if (data == null) {
            send(h);
        } else {
            send(h, data);
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

    private void send(ByteBuffer... buffers) throws IOException {
        long left = 0;
        for (ByteBuffer b : buffers) {
            left += b.remaining();
        }
        while (left > 0) {
            left -= transport.write(buffers, 0, buffers.length);
        }
    }
}
