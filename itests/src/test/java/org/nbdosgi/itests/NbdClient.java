package org.nbdosgi.itests;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A small NBD client for tests: fixed newstyle negotiation, structured replies, base:allocation,
 * and raw requests, including the malformed ones real clients never send. Not thread-safe.
 */
public final class NbdClient implements AutoCloseable {
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final int REQUEST_MAGIC = 0x25609513;
    public static final int OPT_EXPORT_NAME = 1, OPT_ABORT = 2, OPT_LIST = 3, OPT_STARTTLS = 5, OPT_INFO = 6,
            OPT_GO = 7, OPT_STRUCTURED_REPLY = 8, OPT_LIST_META_CONTEXT = 9, OPT_SET_META_CONTEXT = 10;
    public static final int REP_ACK = 1, REP_SERVER = 2, REP_INFO = 3, REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001, REP_ERR_POLICY = 0x80000002, REP_ERR_INVALID = 0x80000003,
            REP_ERR_UNKNOWN = 0x80000006, REP_ERR_TOO_BIG = 0x80000009;
    public static final int CMD_READ = 0, CMD_WRITE = 1, CMD_DISC = 2, CMD_FLUSH = 3, CMD_TRIM = 4, CMD_CACHE = 5,
            CMD_WRITE_ZEROES = 6, CMD_BLOCK_STATUS = 7;
    public static final int FLAG_FUA = 1, FLAG_NO_HOLE = 2, FLAG_DF = 4, FLAG_REQ_ONE = 8, FLAG_FAST_ZERO = 16;
    public static final int EPERM = 1, EIO = 5, EINVAL = 22, ENOSPC = 28, ENOTSUP = 95, ESHUTDOWN = 108;
    public static final int TF_READ_ONLY = 2, TF_SEND_FLUSH = 4, TF_SEND_FUA = 8, TF_ROTATIONAL = 16, TF_SEND_TRIM = 32,
            TF_SEND_WRITE_ZEROES = 64, TF_SEND_DF = 128, TF_CAN_MULTI_CONN = 256, TF_SEND_CACHE = 1024,
            TF_SEND_FAST_ZERO = 2048;
    public static final int INFO_EXPORT = 0, INFO_NAME = 1, INFO_DESCRIPTION = 2, INFO_BLOCK_SIZE = 3;
    /** Client handshake flags. */
    public static final int C_FIXED_NEWSTYLE = 1, C_NO_ZEROES = 2;

    /** An error the server replied with. */
    public static final class ReplyError extends IOException {
        private static final long serialVersionUID = 1L;
        public final int code;

        ReplyError(int code, String message) {
            super("NBD error " + code + (message == null || message.isEmpty() ? "" : ": " + message));
            this.code = code;
        }
    }

    /** One option reply. */
    public record OptionReply(int option, int type, byte[] data) {
    }

    /** A parsed transmission reply (all chunks of it). */
    public static final class Reply {
        public long cookie;
        public long base;
        public int error;
        public String message;
        public long errorOffset = -1;
        public byte[] data;
        public int dataChunks;
        public int holeChunks;
        public final List<long[]> extents = new ArrayList<>();   // {length, flags}
    }

    private final SocketChannel channel;
    private boolean structured;
    public long size;
    public int transmissionFlags;
    public int[] blockSize;
    /** NBD_INFO_NAME and NBD_INFO_DESCRIPTION of the last GO, null if the server sent none. */
    public String canonicalName;
    public String description;
    private final boolean noZeroes;
    private long nextCookie = 1;

    private NbdClient(SocketChannel channel, int clientFlags) throws IOException {
        this.channel = channel;
        this.noZeroes = (clientFlags & C_NO_ZEROES) != 0;
        ByteBuffer hello = readFully(18);
        if (hello.getLong() != 0x4e42444d41474943L || hello.getLong() != IHAVEOPT) {
            throw new IOException("not an NBD newstyle server");
        }
        int serverFlags = hello.getShort() & 0xffff;
        if ((serverFlags & 1) == 0) {
            throw new IOException("server is not fixed newstyle");
        }
        write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
    }

    /** Connects and greets with FIXED_NEWSTYLE | NO_ZEROES, as modern clients do. */
    public static NbdClient unix(Path socket) throws IOException {
        return unix(socket, C_FIXED_NEWSTYLE | C_NO_ZEROES);
    }

    public static NbdClient unix(Path socket, int clientFlags) throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(socket));
        return new NbdClient(c, clientFlags);
    }

    public static NbdClient tcp(String host, int port) throws IOException {
        return new NbdClient(SocketChannel.open(new java.net.InetSocketAddress(host, port)), C_FIXED_NEWSTYLE | C_NO_ZEROES);
    }

    /** Over TCP with socket buffers of {@code buffer} bytes each way (set before connecting, so the window is small too). */
    public static NbdClient tcp(String host, int port, int buffer) throws IOException {
        SocketChannel c = SocketChannel.open();
        c.setOption(java.net.StandardSocketOptions.SO_RCVBUF, buffer);
        c.setOption(java.net.StandardSocketOptions.SO_SNDBUF, buffer);
        c.connect(new java.net.InetSocketAddress(host, port));
        return new NbdClient(c, C_FIXED_NEWSTYLE | C_NO_ZEROES);
    }

    // ---- options ------------------------------------------------------------------------------

    public void sendOption(int option, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data);
        write(b.flip());
    }

    public OptionReply readOptionReply() throws IOException {
        ByteBuffer h = readFully(20);
        if (h.getLong() != 0x3e889045565a9L) {
            throw new IOException("bad option reply magic");
        }
        int option = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        return new OptionReply(option, type, readFully(len).array());
    }

    /** Sends an option and collects replies up to the final one (ACK or an error). */
    public List<OptionReply> option(int option, byte[] data) throws IOException {
        sendOption(option, data);
        List<OptionReply> out = new ArrayList<>();
        while (true) {
            OptionReply r = readOptionReply();
            out.add(r);
            if (r.type == REP_ACK || r.type < 0) {
                return out;
            }
        }
    }

    public List<String> list() throws IOException {
        List<String> names = new ArrayList<>();
        for (OptionReply r : option(OPT_LIST, new byte[0])) {
            if (r.type == REP_SERVER) {
                ByteBuffer b = ByteBuffer.wrap(r.data);
                int n = b.getInt();
                names.add(new String(r.data, 4, n, StandardCharsets.UTF_8));
            } else if (r.type != REP_ACK) {
                throw new IOException("list failed: " + Integer.toHexString(r.type));
            }
        }
        return names;
    }

    public void structuredReplies() throws IOException {
        List<OptionReply> r = option(OPT_STRUCTURED_REPLY, new byte[0]);
        if (r.get(r.size() - 1).type != REP_ACK) {
            throw new IOException("structured replies refused");
        }
        structured = true;
    }

    /** Selects base:allocation for {@code export}; returns the number of contexts selected. */
    public int setMetaContext(String export, String... queries) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + name.length + 1024).putInt(name.length).put(name).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        byte[] data = new byte[b.position()];
        b.flip().get(data);
        int n = 0;
        for (OptionReply r : option(OPT_SET_META_CONTEXT, data)) {
            if (r.type == REP_META_CONTEXT) {
                n++;
            } else if (r.type != REP_ACK) {
                throw new IOException("set meta context failed: " + Integer.toHexString(r.type));
            }
        }
        return n;
    }

    /** NBD_OPT_GO asking for NBD_INFO_NAME, NBD_INFO_DESCRIPTION and NBD_INFO_BLOCK_SIZE; throws on an error reply. */
    public void go(String export) throws IOException {
        info(OPT_GO, export);
    }

    /** NBD_OPT_INFO or NBD_OPT_GO as {@link #go}: the fields hold what the server said. */
    public void info(int option, String export) throws IOException {
        canonicalName = null;
        description = null;
        List<OptionReply> replies = option(option, infoData(export, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE));
        for (OptionReply r : replies) {
            if (r.type < 0) {
                throw new IOException("GO refused (" + Integer.toHexString(r.type) + "): " + new String(r.data, StandardCharsets.UTF_8));
            }
            if (r.type == REP_INFO) {
                ByteBuffer b = ByteBuffer.wrap(r.data);
                int info = b.getShort() & 0xffff;
                switch (info) {
                    case INFO_EXPORT -> {
                        size = b.getLong();
                        transmissionFlags = b.getShort() & 0xffff;
                    }
                    case INFO_NAME -> canonicalName = new String(r.data, 2, r.data.length - 2, StandardCharsets.UTF_8);
                    case INFO_DESCRIPTION -> description = new String(r.data, 2, r.data.length - 2, StandardCharsets.UTF_8);
                    case INFO_BLOCK_SIZE -> blockSize = new int[] {b.getInt(), b.getInt(), b.getInt()};
                    default -> throw new IOException("unknown info type " + info);
                }
            }
        }
    }

    /** The data of NBD_OPT_INFO/GO for {@code export}, asking for NBD_INFO_BLOCK_SIZE. */
    public static byte[] infoData(String export) {
        return infoData(export, INFO_BLOCK_SIZE);
    }

    public static byte[] infoData(String export, int... infos) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + name.length + 2 + 2 * infos.length).putInt(name.length).put(name)
                .putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    /**
     * NBD_OPT_EXPORT_NAME: the server answers with size and flags, then 124 zero bytes unless the
     * client greeted with NO_ZEROES; returns that padding (read within a few seconds, so a server
     * that leaves it out shows as a short array instead of a hang).
     */
    public byte[] exportName(String export) throws IOException {
        sendOption(OPT_EXPORT_NAME, export.getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = readFully(10);
        size = b.getLong();
        transmissionFlags = b.getShort() & 0xffff;
        return noZeroes ? new byte[0] : readWithin(124, 5000);
    }

    // ---- transmission -------------------------------------------------------------------------

    public long send(int type, int flags, long offset, long length, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28 + (payload == null ? 0 : payload.length));
        long cookie = putRequest(b, type, flags, offset, length);
        if (payload != null) {
            b.put(payload);
        }
        write(b.flip());
        return cookie;
    }

    /** Sends {@code count} reads of {@code length} bytes, at offsets 0, length, 2 * length..., in one write (so they arrive together). */
    public void sendReads(int count, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28 * count);
        for (int i = 0; i < count; i++) {
            putRequest(b, CMD_READ, 0, (long) i * length, length);
        }
        write(b.flip());
    }

    /** Sends writes of zeros, each {offset, length, flags}, in one write to the socket, so the server finds them buffered together. */
    public void sendWrites(long[]... writes) throws IOException {
        int size = 0;
        for (long[] w : writes) {
            size += 28 + (int) w[1];
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        for (long[] w : writes) {
            putRequest(b, CMD_WRITE, (int) w[2], w[0], w[1]);
            b.position(b.position() + (int) w[1]);
        }
        write(b.flip());
    }

    /** Puts a request's 28-byte header into {@code b}, with the next cookie; returns that cookie. */
    private long putRequest(ByteBuffer b, int type, int flags, long offset, long length) {
        long cookie = nextCookie++;
        b.putInt(REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset).putInt((int) length);
        return cookie;
    }

    /** Reads one whole reply (every chunk up to DONE for structured replies) of a request at {@code base}. */
    public Reply receive(long expectedLength, long base) throws IOException {
        ByteBuffer m = readFully(4);
        int magic = m.getInt();
        Reply r = new Reply();
        r.base = base;
        if (magic == 0x67446698) {
            ByteBuffer h = readFully(12);
            r.error = h.getInt();
            r.cookie = h.getLong();
            if (r.error == 0 && expectedLength > 0) {
                r.data = readFully((int) expectedLength).array();
            }
            return r;
        }
        if (magic != 0x668e33ef) {
            throw new IOException("bad reply magic " + Integer.toHexString(magic));
        }
        while (true) {
            ByteBuffer h = readFully(16);
            int flags = h.getShort() & 0xffff;
            int type = h.getShort() & 0xffff;
            r.cookie = h.getLong();
            int len = h.getInt();
            ByteBuffer p = readFully(len);
            switch (type) {
                case 1 -> {
                    if (r.data == null) {
                        r.data = new byte[(int) expectedLength];
                    }
                    long off = p.getLong();
                    p.get(r.data, (int) (off - r.base), len - 8);
                    r.dataChunks++;
                }
                case 2 -> {
                    if (r.data == null) {
                        r.data = new byte[(int) expectedLength];
                    }
                    p.getLong();
                    p.getInt();
                    r.holeChunks++;
                }
                case 5 -> {
                    p.getInt();
                    while (p.hasRemaining()) {
                        r.extents.add(new long[] {p.getInt() & 0xFFFFFFFFL, p.getInt()});
                    }
                }
                case 0 -> { }
                default -> {
                    if ((type & 0x8000) != 0) {
                        r.error = p.getInt();
                        int ml = p.getShort() & 0xffff;
                        r.message = new String(p.array(), 6, ml, StandardCharsets.UTF_8);
                        if (type == 0x8002) {
                            r.errorOffset = p.getLong(6 + ml);
                        }
                    } else {
                        throw new IOException("unknown chunk type " + type);
                    }
                }
            }
            if ((flags & 1) != 0) {
                return r;
            }
            m = readFully(4);
            if (m.getInt() != 0x668e33ef) {
                throw new IOException("bad chunk magic");
            }
        }
    }

    private Reply call(int type, int flags, long offset, long length, byte[] payload, long replyLength) throws IOException {
        long cookie = send(type, flags, offset, length, payload);
        Reply r = receive(replyLength, offset);
        if (r.cookie != cookie) {
            throw new IOException("reply cookie " + r.cookie + " for request " + cookie);
        }
        if (r.error != 0) {
            throw new ReplyError(r.error, r.message);
        }
        return r;
    }

    /** Reads; with structured replies the request offset anchors the chunks. */
    public Reply readReply(long offset, int length, int flags) throws IOException {
        long cookie = send(CMD_READ, flags, offset, length, null);
        Reply got = receive(length, offset);
        if (got.cookie != cookie) {
            throw new IOException("reply cookie mismatch");
        }
        if (got.error != 0) {
            throw new ReplyError(got.error, got.message);
        }
        if (got.data == null) {
            got.data = new byte[length];
        }
        return got;
    }

    public byte[] read(long offset, int length) throws IOException {
        return readReply(offset, length, 0).data;
    }

    public void write(long offset, byte[] data, int flags) throws IOException {
        call(CMD_WRITE, flags, offset, data.length, data, 0);
    }

    public void flush() throws IOException {
        call(CMD_FLUSH, 0, 0, 0, null, 0);
    }

    public void trim(long offset, long length) throws IOException {
        call(CMD_TRIM, 0, offset, length, null, 0);
    }

    public void zero(long offset, long length, int flags) throws IOException {
        call(CMD_WRITE_ZEROES, flags, offset, length, null, 0);
    }

    public void cache(long offset, long length) throws IOException {
        call(CMD_CACHE, 0, offset, length, null, 0);
    }

    public List<long[]> blockStatus(long offset, long length, int flags) throws IOException {
        return call(CMD_BLOCK_STATUS, flags, offset, length, null, 0).extents;
    }

    public void disconnect() throws IOException {
        send(CMD_DISC, 0, 0, 0, null);
    }

    public boolean isStructured() {
        return structured;
    }

    // ---- plumbing -----------------------------------------------------------------------------

    public ByteBuffer readFully(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new EOFException("server closed the connection");
            }
        }
        return b.flip();
    }

    /** Reads up to {@code n} bytes, as many as arrive within the time. */
    public byte[] readWithin(int n, long timeoutMillis) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        channel.configureBlocking(false);
        try {
            long deadline = System.currentTimeMillis() + timeoutMillis;
            while (b.hasRemaining() && System.currentTimeMillis() < deadline) {
                if (channel.read(b) < 0) {
                    break;
                }
                if (b.hasRemaining()) {
                    Thread.sleep(5);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            channel.configureBlocking(true);
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    public void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    /** True if the server closes the connection within the timeout (nothing else arrives first). */
    public boolean isClosedByServer(long timeoutMillis) throws IOException, InterruptedException {
        channel.configureBlocking(false);
        try {
            ByteBuffer one = ByteBuffer.allocate(1);
            long deadline = System.currentTimeMillis() + timeoutMillis;
            while (System.currentTimeMillis() < deadline) {
                int n;
                try {
                    n = channel.read(one);
                } catch (IOException e) {
                    return true;
                }
                if (n < 0) {
                    return true;
                }
                if (n > 0) {
                    return false;
                }
                Thread.sleep(10);
            }
            return false;
        } finally {
            channel.configureBlocking(true);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
