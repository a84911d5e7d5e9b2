package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.MemoryTransport;

/** The option haggling over an in-memory transport, with a server that has no exports to attach to. */
class HandshakeTest {
    /** A server whose list shows two names but which routes none (attaching needs a running export). */
    private static final Routing NO_ROUTE = routing(ServerTls.OFF);

    /** A server with {@code tls} whose list shows two names ("a", and "b" described as "disk b") and which routes none. */
    static Routing routing(ServerTls tls) {
        return new Routing() {
            @Override
            public Route route(String name) {
                return null;
            }

            @Override
            public List<ExportEntry> listExports(Predicate<String> visible) {
                return List.of(new ExportEntry("a", null), new ExportEntry("b", "disk b"));
            }

            @Override
            public ServerTls tls() {
                return tls;
            }

            @Override
            public List<String> allowed(String export) {
                return List.of();
            }
        };
    }

    /** What a client sends: its flags, then options. */
    private static final class Script {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Script(int clientFlags) {
            bytes.writeBytes(ByteBuffer.allocate(4).putInt(clientFlags).array());
        }

        Script option(int option, byte[] data) {
            bytes.writeBytes(ByteBuffer.allocate(16).putLong(Nbd.IHAVEOPT).putInt(option).putInt(data.length).array());
            bytes.writeBytes(data);
            return this;
        }

        Script option(int option) {
            return option(option, new byte[0]);
        }

        Script raw(byte[] b) {
            bytes.writeBytes(b);
            return this;
        }
    }

    private record Reply(int option, int type, String data) {
    }

    private static MemoryTransport run(Script s) throws Exception {
        return run(s, NO_ROUTE);
    }

    private static MemoryTransport run(Script s, Routing routing) throws Exception {
        MemoryTransport t = new MemoryTransport(s.bytes.toByteArray());
        assertNull(new Handshake(1, t, new WireIn(t, new BufferPool()), routing, why -> { }).run(), "no transmission without an export");
        return t;
    }

    /** The option replies after the greeting, which is checked. */
    private static List<Reply> replies(MemoryTransport t) {
        ByteBuffer b = ByteBuffer.wrap(t.written.toByteArray());
        assertEquals(Nbd.NBDMAGIC, b.getLong());
        assertEquals(Nbd.IHAVEOPT, b.getLong());
        assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, b.getShort());
        List<Reply> out = new ArrayList<>();
        while (b.hasRemaining()) {
            assertEquals(Nbd.OPTION_REPLY_MAGIC, b.getLong());
            int option = b.getInt();
            int type = b.getInt();
            byte[] data = new byte[b.getInt()];
            b.get(data);
            out.add(new Reply(option, type, new String(data, StandardCharsets.ISO_8859_1)));
        }
        return out;
    }

    private static byte[] goRequest(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + n.length + 2).putInt(n.length).put(n).putShort((short) 0).array();
    }

    @Test
    void optionsAreAnsweredInOrderUntilTheClientAborts() throws Exception {
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)
                .option(Nbd.OPT_STRUCTURED_REPLY)
                .option(Nbd.OPT_STRUCTURED_REPLY)
                .option(Nbd.OPT_LIST)
                .option(Nbd.OPT_STARTTLS)
                .option(Nbd.OPT_GO, goRequest("nope"))
                .option(99)
                .option(Nbd.OPT_ABORT));
        List<Reply> r = replies(t);
        assertEquals(new Reply(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, ""), r.get(0));
        assertEquals(new Reply(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_INVALID, "structured replies are already on"), r.get(1));
        assertEquals(new Reply(Nbd.OPT_LIST, Nbd.REP_SERVER, "\0\0\0\1a"), r.get(2));
        assertEquals(new Reply(Nbd.OPT_LIST, Nbd.REP_SERVER, "\0\0\0\1bdisk b"), r.get(3));
        assertEquals(new Reply(Nbd.OPT_LIST, Nbd.REP_ACK, ""), r.get(4));
        assertEquals(new Reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not available on this server"), r.get(5));
        assertEquals(new Reply(Nbd.OPT_GO, Nbd.REP_ERR_UNKNOWN, "no export named 'nope'"), r.get(6));
        assertEquals(new Reply(99, Nbd.REP_ERR_UNSUP, "option 99 is not supported"), r.get(7));
        assertEquals(new Reply(Nbd.OPT_ABORT, Nbd.REP_ACK, ""), r.get(8));
        assertEquals(9, r.size());
    }

    @Test
    void metaContextsNeedStructuredRepliesAndListBaseAllocation() throws Exception {
        byte[] q = Extents.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
        byte[] list = ByteBuffer.allocate(4 + 1 + 4 + 4 + q.length).putInt(1).put((byte) 'x').putInt(1)
                .putInt(q.length).put(q).array();
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE)
                .option(Nbd.OPT_LIST_META_CONTEXT, list)
                .option(Nbd.OPT_STRUCTURED_REPLY)
                .option(Nbd.OPT_LIST_META_CONTEXT, list)
                .option(Nbd.OPT_SET_META_CONTEXT, list)
                .option(Nbd.OPT_ABORT));
        List<Reply> r = replies(t);
        assertEquals(new Reply(Nbd.OPT_LIST_META_CONTEXT, Nbd.REP_ERR_INVALID, "negotiate structured replies first"), r.get(0));
        assertEquals(Nbd.REP_ACK, r.get(1).type());
        assertEquals(new Reply(Nbd.OPT_LIST_META_CONTEXT, Nbd.REP_META_CONTEXT, "\0\0\0\0" + Extents.BASE_ALLOCATION), r.get(2));
        assertEquals(new Reply(Nbd.OPT_LIST_META_CONTEXT, Nbd.REP_ACK, ""), r.get(3));
        assertEquals(new Reply(Nbd.OPT_SET_META_CONTEXT, Nbd.REP_ERR_UNKNOWN, "no export named 'x'"), r.get(4));
        assertEquals(Nbd.REP_ACK, r.get(5).type());
    }

    @Test
    void theHandshakeReadsNothingPastTheOptionItAnswers() throws Exception {
        byte[] after = "bytes a client sends after an option it must wait on".getBytes(StandardCharsets.US_ASCII);
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).option(Nbd.OPT_ABORT).raw(after));
        assertEquals(after.length, t.input.remaining(), "left for whatever comes next (TLS after STARTTLS)");
    }

    @Test
    void anOversizedOptionIsRefusedAndItsDataNeverRead() throws Exception {
        byte[] header = ByteBuffer.allocate(16).putLong(Nbd.IHAVEOPT).putInt(Nbd.OPT_LIST).putInt(-1).array();
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).raw(header).raw(new byte[100_000]));
        assertEquals(List.of(new Reply(Nbd.OPT_LIST, Nbd.REP_ERR_TOO_BIG, "option data over 65536 bytes")), replies(t));
        assertEquals(100_000, t.input.remaining(), "an option of 2^32-1 bytes is not read and thrown away");
        MemoryTransport name = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).option(Nbd.OPT_EXPORT_NAME, new byte[65537]));
        assertEquals(List.of(), replies(name), "NBD_OPT_EXPORT_NAME has no error reply: disconnected");
    }

    @Test
    void aClientGetsNbdkitsThirtyTwoOptionsThenIsDisconnected() throws Exception {
        Script s = new Script(Nbd.FLAG_C_FIXED_NEWSTYLE);
        for (int i = 0; i < 40; i++) {
            s.option(Nbd.OPT_LIST);
        }
        List<Reply> r = replies(run(s));
        assertEquals(32, r.stream().filter(x -> x.type() == Nbd.REP_ACK).count());
    }

    @Test
    void namesMustBeTheSpecsStrings() throws Exception {
        byte[] ff = ByteBuffer.allocate(7).putInt(1).put((byte) 0xff).putShort((short) 0).array();
        byte[] nul = ByteBuffer.allocate(7).putInt(1).put((byte) 0).putShort((short) 0).array();
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE)
                .option(Nbd.OPT_GO, goRequest("x".repeat(4097)))
                .option(Nbd.OPT_INFO, ff)
                .option(Nbd.OPT_GO, nul)
                .option(Nbd.OPT_GO, goRequest("x".repeat(4096)))
                .option(Nbd.OPT_ABORT));
        List<Reply> r = replies(t);
        assertEquals(new Reply(Nbd.OPT_GO, Nbd.REP_ERR_INVALID, "name of 4097 bytes, over the 4096 the protocol allows"), r.get(0));
        assertEquals(new Reply(Nbd.OPT_INFO, Nbd.REP_ERR_INVALID, "name is not valid UTF-8"), r.get(1));
        assertEquals(new Reply(Nbd.OPT_GO, Nbd.REP_ERR_INVALID, "name contains NUL"), r.get(2));
        assertEquals(Nbd.REP_ERR_UNKNOWN, r.get(3).type(), "4096 bytes is a name (that no export has)");
        assertEquals(Nbd.REP_ACK, r.get(4).type());
        MemoryTransport exportName = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).option(Nbd.OPT_EXPORT_NAME, new byte[] {(byte) 0xff}));
        assertEquals(List.of(), replies(exportName));
    }

    @Test
    void unknownClientFlagsOrABadMagicEndTheHandshake() throws Exception {
        assertEquals(List.of(), replies(run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE | 4).option(Nbd.OPT_ABORT))));
        assertEquals(List.of(), replies(run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).raw(new byte[16]))));
    }

    @Test
    void aClientThatLeavesMidOptionIsAnEof() {
        MemoryTransport t = new MemoryTransport(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).raw(new byte[] {0x49, 0x48}).bytes.toByteArray());
        assertThrows(EOFException.class, () -> new Handshake(1, t, new WireIn(t, new BufferPool()), NO_ROUTE, why -> { }).run());
    }

    @Test
    void tlsRequiredRefusesEveryOptionButStartTlsAndAbortBeforeTls() throws Exception {
        Routing require = routing(new ServerTls(TlsMode.REQUIRE, null));
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE)
                .option(Nbd.OPT_LIST)
                .option(Nbd.OPT_STRUCTURED_REPLY)
                .option(Nbd.OPT_INFO, goRequest("a"))
                .option(Nbd.OPT_GO, goRequest(""))
                .option(99)
                .option(Nbd.OPT_ABORT), require);
        List<Reply> r = replies(t);
        String why = "TLS is required: send NBD_OPT_STARTTLS first";
        assertEquals(new Reply(Nbd.OPT_LIST, Nbd.REP_ERR_TLS_REQD, why), r.get(0), "not even the export names");
        assertEquals(new Reply(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ERR_TLS_REQD, why), r.get(1));
        assertEquals(new Reply(Nbd.OPT_INFO, Nbd.REP_ERR_TLS_REQD, why), r.get(2));
        assertEquals(new Reply(Nbd.OPT_GO, Nbd.REP_ERR_TLS_REQD, why), r.get(3));
        assertEquals(new Reply(99, Nbd.REP_ERR_TLS_REQD, why), r.get(4), "unknown options too, as the spec says");
        assertEquals(new Reply(Nbd.OPT_ABORT, Nbd.REP_ACK, ""), r.get(5));
        assertEquals(6, r.size());
    }

    @Test
    void tlsRequiredEndsTheConnectionOnExportNameBeforeTls() throws Exception {
        Routing require = routing(new ServerTls(TlsMode.REQUIRE, null));
        byte[] name = "a".getBytes(StandardCharsets.US_ASCII);
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE).option(Nbd.OPT_EXPORT_NAME, name)
                .option(Nbd.OPT_LIST), require);
        assertEquals(List.of(), replies(t), "no reply at all: NBD_OPT_EXPORT_NAME has no error reply");
    }

    @Test
    void startTlsWithoutTlsOrWithDataIsRefused() throws Exception {
        MemoryTransport t = run(new Script(Nbd.FLAG_C_FIXED_NEWSTYLE)
                .option(Nbd.OPT_STARTTLS, new byte[] {1})
                .option(Nbd.OPT_STARTTLS)
                .option(Nbd.OPT_ABORT));
        List<Reply> r = replies(t);
        assertEquals(new Reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "starttls takes no data"), r.get(0));
        assertEquals(new Reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, "TLS is not available on this server"), r.get(1));
    }
}
