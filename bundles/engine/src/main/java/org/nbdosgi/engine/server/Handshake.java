package org.nbdosgi.engine.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.TlsTransport;
import org.nbdosgi.engine.transport.Transport;
import org.nbdosgi.tls.TlsAuthorization;
import org.nbdosgi.tls.TlsEngine;
import org.nbdosgi.tls.TlsException;
import org.nbdosgi.tls.TlsPeer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixed newstyle handshake of one connection: the greeting, then option haggling until the
 * client enters transmission (NBD_OPT_GO, NBD_OPT_EXPORT_NAME) or leaves. Its result is a
 * {@link Negotiated}. Runs on the connection's reader; {@link #session} and
 * {@link #requestedName} may be read by any thread.
 *
 * <p>TLS: the server's {@link ServerTls} is taken once, at the start, so the connection's mode
 * never changes. NBD_OPT_STARTTLS is acknowledged, the TLS handshake runs over the plain transport
 * (under the {@link Connection}'s handshake deadline, which closes it), and the haggling goes on
 * over the TLS transport with its state reset: the haggling state (structured replies, the selected
 * meta context) lives in fields for that, as the spec requires. Under {@code --tls=require} every
 * other option before TLS gets NBD_REP_ERR_TLS_REQD and NBD_OPT_EXPORT_NAME ends the connection, so
 * nothing about the exports is told in clear. An export with an allow-list of identities is
 * TLS-only (also under {@code --tls=on}): before TLS it is not listed and NBD_OPT_INFO/GO get
 * NBD_REP_ERR_TLS_REQD; after it, a client whose identity is not on the list gets
 * NBD_REP_ERR_POLICY, does not see the export in NBD_OPT_LIST, and the server logs one line naming
 * the identity and the export.
 *
 * <p>Limits, so that a client cannot hold the server in the handshake: option data over
 * {@value #MAX_OPTION_LENGTH} bytes is refused with NBD_REP_ERR_TOO_BIG and the client disconnected
 * without the data being read; at most {@value #MAX_OPTIONS} options per connection (nbdkit's
 * limit), the next one disconnects; a name (export name, meta context query) must be valid UTF-8
 * without NUL and at most 4096 bytes long, as the spec's strings are, else NBD_REP_ERR_INVALID (after
 * NBD_OPT_EXPORT_NAME, which has no error reply, a disconnect). The time the whole handshake may
 * take, STARTTLS's TLS handshake included, is bounded by the {@link Connection}'s deadline.
 */
final class Handshake {
    private static final Logger LOG = LoggerFactory.getLogger(Handshake.class);
    /** The negotiation, step by step, for -v (nbdkit's -D nbdkit.backend.controlpath=0 quiets it). */
    private static final Logger NEGOTIATION = LoggerFactory.getLogger("nbd.controlpath.negotiation");
    /** The most option data read: a name of 4096 bytes and many meta context queries fit. */
    static final int MAX_OPTION_LENGTH = 64 * 1024;
    /** Options per connection, as nbdkit counts them. */
    static final int MAX_OPTIONS = 32;
    private static final long UNSIGNED_INT = 0xFFFFFFFFL;

    /** A name the client sent that is not one of the spec's strings. */
    private static final class BadName extends Exception {
        private static final long serialVersionUID = 1L;

        BadName(String why) {
            super(why, null, false, false);
        }
    }

    private final long id;
    private final WireIn in;
    private final Routing routing;
    private final Consumer<String> disconnect;
    private final ServerTls tls;

    private volatile Transport transport;
    private boolean tlsActive;
    private boolean toldTlsRequired;

    private volatile String requestedName;
    private volatile Session session;

    private boolean structured;
    private String metaContextExport;
    private List<String> metaContexts = List.of();
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
        this.tls = routing.tls();
    }

    /** The transport the client is on now: the plain one, or the TLS one after NBD_OPT_STARTTLS. Any thread. */
    Transport transport() {
        return transport;
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
        int offered = routing.handshakeFlags();
        NEGOTIATION.debug("connection {}: newstyle negotiation: flags: global 0x{}", id, Integer.toHexString(offered));
        send(ByteBuffer.allocate(18).putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT).putShort((short) offered).flip());
        int clientFlags = in.readInt();
        NEGOTIATION.debug("connection {}: newstyle negotiation: client flags: 0x{}", id, Integer.toHexString(clientFlags));
        if ((clientFlags & ~offered) != 0) {
            LOG.info("connection {}: client sent flags the server did not offer ({}), disconnecting", id,
                    Integer.toHexString(clientFlags));
            return null;
        }
        boolean noZeroes = (clientFlags & Nbd.FLAG_C_NO_ZEROES) != 0;
        for (int options = 1; ; options++) {
            if (in.readLong() != Nbd.IHAVEOPT) {
                LOG.info("connection {}: bad option magic, disconnecting", id);
                return null;
            }
            if (options > MAX_OPTIONS) {
                LOG.info("connection {}: more than {} options without choosing an export, disconnecting", id, MAX_OPTIONS);
                return null;
            }
            int option = in.readInt();
            long length = in.readInt() & UNSIGNED_INT;
            if (length > MAX_OPTION_LENGTH) {
                LOG.info("connection {}: option {} with {} bytes of data, disconnecting", id, option, length);
                if (option != Nbd.OPT_EXPORT_NAME) {
                    optionError(option, Nbd.REP_ERR_TOO_BIG, "option data over " + MAX_OPTION_LENGTH + " bytes");
                }
                return null;
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            in.readFully(data);
            data.flip();
            NEGOTIATION.debug("connection {}: newstyle negotiation: {} ({} bytes of data)", id, Nbd.optionName(option), length);
            if (tls.mode() == TlsMode.REQUIRE && !tlsActive && option != Nbd.OPT_STARTTLS && option != Nbd.OPT_ABORT) {
                if (!toldTlsRequired) {
                    toldTlsRequired = true;
                    LOG.warn("connection {} from {}: option {} before TLS, which this server requires{}", id,
                            transport.peer().address(), Nbd.optionName(option),
                            option == Nbd.OPT_EXPORT_NAME ? ": disconnecting" : "");
                }
                if (option == Nbd.OPT_EXPORT_NAME) {
                    return null;                            // it has no error reply
                }
                optionError(option, Nbd.REP_ERR_TLS_REQD, "TLS is required: send NBD_OPT_STARTTLS first");
                continue;
            }
            switch (option) {
                case Nbd.OPT_EXPORT_NAME -> {
                    try {
                        return exportName(name(data, data.remaining()), noZeroes);
                    } catch (BadName e) {
                        LOG.info("connection {}: export name refused ({}), disconnecting", id, e.getMessage());
                        return null;
                    }
                }
                case Nbd.OPT_ABORT -> {
                    optionReply(option, Nbd.REP_ACK, null);
                    transport.finish();
                    return null;
                }
                case Nbd.OPT_LIST -> list(option, data);
                case Nbd.OPT_STARTTLS -> {
                    if (!startTls(option, data)) {
                        return null;
                    }
                }
                case Nbd.OPT_INFO, Nbd.OPT_GO -> {
                    Negotiated go = infoOrGo(option, data, noZeroes);
                    if (go != null) {
                        return go;
                    }
                }
                case Nbd.OPT_STRUCTURED_REPLY -> {
                    if (!routing.structuredReplies()) {
                        optionError(option, Nbd.REP_ERR_UNSUP, "structured replies are turned off (--no-sr)");
                    } else if (data.hasRemaining()) {
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
        Refusal refused = access(route);
        if (refused != null) {
            LOG.debug("connection {}: export '{}' refused: {}, disconnecting", id, name, refused.message());
            return null;
        }
        try {
            attach(route);
        } catch (IOException e) {
            logRefusal(name, e);
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
        for (ExportEntry e : routing.listExports(this::visible)) {
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
        String name;
        try {
            name = name(data, (int) nameLength);
        } catch (BadName e) {
            optionError(option, Nbd.REP_ERR_INVALID, e.getMessage());
            return null;
        }
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
            LOG.info("connection {}: no export named '{}'", id, name);
            optionError(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return null;
        }
        Refusal refused = access(route);
        if (refused != null) {
            optionError(option, refused.error(), refused.message());
            return null;
        }
        try {
            attach(route);
        } catch (IOException e) {
            logRefusal(name, e);
            NbdError error = NbdException.errorOf(e);
            int err = switch (error) {
                case ESHUTDOWN -> Nbd.REP_ERR_SHUTDOWN;
                case EPERM -> Nbd.REP_ERR_POLICY;
                default -> Nbd.REP_ERR_UNKNOWN;
            };
            // the details (server paths, what a name is on disk) are for the log, not the client
            optionError(option, err, "export '" + name + "' cannot be opened: " + error.text());
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
        List<String> selected = structured && name.equals(metaContextExport) ? metaContexts : List.of();
        session.selectMetaContexts(selected);
        NEGOTIATION.debug("connection {}: handshake complete: export '{}', flags 0x{}, structured replies {}", id, name,
                Integer.toHexString(transmissionFlags), structured);
        return new Negotiated(session, structured, selected, blockSizeAcknowledged, transmissionFlags, noZeroes);
    }

    /** A refusal by a layer: a policy one (a filter such as ip or limit said no) is worth a warning. */
    private void logRefusal(String name, IOException e) {
        if (NbdException.errorOf(e) == NbdError.EPERM) {
            LOG.warn("connection {} from {}: export '{}' refused: {}", id, transport.peer().address(), name, e.getMessage());
        } else {
            LOG.info("connection {}: export '{}' refused: {}", id, name, e.getMessage());
        }
    }

    /** Why a client may not open an export: the option error, and the message the client gets. */
    private record Refusal(int error, String message) {
    }

    /**
     * Whether this client may open the export {@code route} leads to: an export with an allow-list
     * needs TLS, and an identity on the list. Null if it may; a refusal for lack of identity is
     * logged here, once per attempt.
     */
    private Refusal access(Route route) {
        String export = route.export().name();
        List<String> allowed = routing.allowed(export);
        if (allowed.isEmpty()) {
            return null;
        }
        if (!tlsActive) {
            if (tls.mode() == TlsMode.OFF) {
                LOG.warn("connection {} from {}: export '{}' has an allow-list, but TLS is off: refused", id,
                        transport.peer().address(), export);
                return new Refusal(Nbd.REP_ERR_POLICY, "access to this export is not allowed");
            }
            return new Refusal(Nbd.REP_ERR_TLS_REQD, "this export requires TLS");
        }
        org.nbdosgi.api.Peer peer = transport.peer().client();
        if (!TlsAuthorization.matches(allowed, peer.tlsIdentities())) {
            LOG.warn("connection {} from {}: {} is not allowed on export '{}': refused", id, transport.peer().address(),
                    peer.tlsIdentity() == null ? "a client without TLS credentials" : peer.tlsIdentity(), export);
            return new Refusal(Nbd.REP_ERR_POLICY, "access to this export is not allowed");
        }
        return null;
    }

    /** Whether NBD_OPT_LIST shows an export to this client: only those it may open. */
    private boolean visible(String export) {
        List<String> allowed = routing.allowed(export);
        return allowed.isEmpty()
                || (tlsActive && TlsAuthorization.matches(allowed, transport.peer().client().tlsIdentities()));
    }

    /**
     * NBD_OPT_STARTTLS: the ACK, the TLS handshake, and the haggling starts over on TLS. False
     * when the connection must end (the handshake failed: the spec allows no going back).
     */
    private boolean startTls(int option, ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            optionError(option, Nbd.REP_ERR_INVALID, "starttls takes no data");
            return true;
        }
        if (tlsActive) {
            optionError(option, Nbd.REP_ERR_INVALID, "TLS is already on");
            return true;
        }
        if (tls.mode() == TlsMode.OFF) {
            optionError(option, Nbd.REP_ERR_POLICY, "TLS is not available on this server");
            return true;
        }
        TlsEngine engine;
        try {
            engine = tls.material().newEngine();
        } catch (TlsException e) {
            LOG.error("connection {}: TLS cannot start: {}", id, e.getMessage());
            optionError(option, Nbd.REP_ERR_POLICY, "TLS cannot start on this server");
            return true;
        }
        optionReply(option, Nbd.REP_ACK, null);
        Transport plain = transport;
        TlsTransport secure;
        try {
            // bounded by the connection's handshake deadline: when it passes, the plain transport is
            // closed and the read below fails with an I/O error, which goes up to be logged there, once
            secure = TlsTransport.handshake(plain, engine);
        } catch (TlsException e) {
            LOG.warn("connection {} from {}: {}", id, plain.peer().address(), e.getMessage());
            return false;
        }
        in.continueOn(secure);
        transport = secure;
        tlsActive = true;
        structured = false;                                 // nothing negotiated in clear survives
        metaContextExport = null;
        TlsPeer p = secure.tlsPeer();
        LOG.debug("connection {}: {} {} with {}", id, p.version(), p.cipher(), p.identity());
        return true;
    }

    private void attach(Route route) throws IOException, InterruptedException {
        ClientContext client = new ClientContext(route.innerName(), false, transport.peer().address(), id,
                transport.peer().client());
        Session s = route.export().attach(client, disconnect);
        session = s;
        transmissionFlags = s.promise().flags() | (structured ? Nbd.FLAG_SEND_DF : 0);   // DF: the only flag the chain does not decide
    }

    /**
     * NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: the contexts the export's chain offers
     * ({@code Export.metaContexts}), matched by {@link MetaContextQuery}. A set selects them for
     * that export name (ids 1, 2, ... in the order of the replies); a failed set selects nothing.
     */
    private void metaContext(int option, ByteBuffer data) throws IOException {
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        if (set) {
            metaContextExport = null;
            metaContexts = List.of();
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
        String name;
        List<String> queries = new ArrayList<>();
        try {
            name = name(data, (int) nameLength);
            long count = data.getInt() & UNSIGNED_INT;
            for (long i = 0; i < count; i++) {
                if (data.remaining() < 4) {
                    optionError(option, Nbd.REP_ERR_INVALID, "query list is truncated");
                    return;
                }
                long qlen = data.getInt() & UNSIGNED_INT;
                if (qlen > data.remaining()) {
                    optionError(option, Nbd.REP_ERR_INVALID, "query length is wrong");
                    return;
                }
                queries.add(name(data, (int) qlen));
            }
        } catch (BadName e) {
            optionError(option, Nbd.REP_ERR_INVALID, e.getMessage());
            return;
        }
        if (data.hasRemaining()) {
            optionError(option, Nbd.REP_ERR_INVALID, "trailing data after the queries");
            return;
        }
        Route route = routing.route(name);
        if (set && route == null) {
            optionError(option, Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
            return;
        }
        // an export listed but not known (yet): what every export offers
        List<String> offered = route == null ? List.of(Extents.BASE_ALLOCATION) : route.export().metaContexts();
        List<String> found;
        try {
            found = MetaContextQuery.matching(offered, queries, !set);
        } catch (IllegalArgumentException e) {
            optionError(option, Nbd.REP_ERR_INVALID, e.getMessage());
            return;
        }
        for (int i = 0; i < found.size(); i++) {
            byte[] ctx = found.get(i).getBytes(StandardCharsets.UTF_8);
            optionReply(option, Nbd.REP_META_CONTEXT, ByteBuffer.allocate(4 + ctx.length).putInt(set ? i + 1 : 0).put(ctx).flip());
        }
        if (set) {
            metaContextExport = name;
            metaContexts = List.copyOf(found);
        }
        optionReply(option, Nbd.REP_ACK, null);
    }

    private void optionReply(int option, int type, ByteBuffer data) throws IOException {
        int len = data == null ? 0 : data.remaining();
        NEGOTIATION.debug("connection {}: replying to {} with {} ({} bytes)", id, Nbd.optionName(option), Nbd.replyName(type), len);
        ByteBuffer h = ByteBuffer.allocate(20).putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(len).flip();
        if (data == null) {
            send(h);
        } else {
            send(h, data);
        }
    }

    private void optionError(int option, int type, String message) throws IOException {
        NEGOTIATION.debug("connection {}: {} refused: {}", id, Nbd.optionName(option), message);
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        optionReply(option, type, ByteBuffer.wrap(m, 0, Math.min(m.length, Nbd.MAX_STRING)));
    }

    /**
     * The next {@code length} bytes as one of the spec's strings: UTF-8 (refused, never rewritten:
     * "\xff" must not open the file named U+FFFD), without NUL, at most 4096 bytes. Consumes them
     * either way.
     */
    private static String name(ByteBuffer data, int length) throws BadName {
        ByteBuffer bytes = data.slice(data.position(), length);
        data.position(data.position() + length);
        if (length > Nbd.MAX_STRING) {
            throw new BadName("name of " + length + " bytes, over the " + Nbd.MAX_STRING + " the protocol allows");
        }
        String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new BadName("name is not valid UTF-8");
        }
        if (s.indexOf('\0') >= 0) {
            throw new BadName("name contains NUL");
        }
        return s;
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
