package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.Peer;
import org.nbdosgi.engine.transport.SocketTransport;
import org.nbdosgi.tls.Credentials;
import org.nbdosgi.tls.TestPki;
import org.nbdosgi.tls.TlsChannel;
import org.nbdosgi.tls.TlsContext;
import org.nbdosgi.tls.TlsServer;
import org.nbdosgi.tls.TlsSettings;

/**
 * NBD_OPT_STARTTLS over a real socket, with a TLS client of our own speaking the options byte by
 * byte: what was negotiated in clear is dropped, a second STARTTLS is invalid, the haggling goes on
 * over TLS.
 */
class StartTlsTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static TlsServer material;

    @BeforeAll
    static void material() throws IOException {
        pki = TestPki.create(dir.resolve("pki"));
        material = TlsServer.start(new TlsSettings(pki.serverDir(), false, null), null);
    }

    @AfterAll
    static void close() {
        material.close();
    }

    private static Routing routing(TlsMode mode) {
        return HandshakeTest.routing(new ServerTls(mode, material));
    }

    private record Reply(int option, int type, String data) {
    }

    private static void option(ByteChannel c, int option, byte[] data) throws IOException {
        write(c, ByteBuffer.allocate(16 + data.length).putLong(Nbd.IHAVEOPT).putInt(option).putInt(data.length).put(data).flip());
    }

    private static Reply reply(ByteChannel c) throws IOException {
        ByteBuffer h = read(c, 20);
        assertEquals(Nbd.OPTION_REPLY_MAGIC, h.getLong());
        int option = h.getInt();
        int type = h.getInt();
        return new Reply(option, type, new String(read(c, h.getInt()).array(), StandardCharsets.ISO_8859_1));
    }

    private static void write(ByteChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static ByteBuffer read(ByteChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new IOException("closed");
            }
        }
        return b.flip();
    }

    @Test
    void stateNegotiatedInClearIsDroppedAndTheHaggingGoesOnOverTls() throws Exception {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(l.getLocalAddress());
             SocketChannel server = l.accept();
             TlsContext ctx = TlsContext.open(new Credentials(false, pki.caCertificate(), null, null, null, true, Map.of()))) {
            SocketTransport plain = new SocketTransport(server, new Peer("test"));
            Handshake h = new Handshake(1, plain, new WireIn(plain, new BufferPool()), routing(TlsMode.ON), why -> { });
            CompletableFuture<Negotiated> done = CompletableFuture.supplyAsync(() -> {
                try {
                    return h.run();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            read(client, 18);
            write(client, ByteBuffer.allocate(4).putInt(Nbd.FLAG_C_FIXED_NEWSTYLE).flip());
            option(client, Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(new Reply(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, ""), reply(client));
            option(client, Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(new Reply(Nbd.OPT_STARTTLS, Nbd.REP_ACK, ""), reply(client));

            TlsChannel tls = TlsChannel.handshake(client, ctx.newEngine());
            assertEquals("subject:CN=localhost,O=nbd-osgi test", tls.peer().identity());
            option(tls, Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(new Reply(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already on"), reply(tls));
            byte[] query = ByteBuffer.allocate(8).putInt(0).putInt(0).array();
            option(tls, Nbd.OPT_LIST_META_CONTEXT, query);
            assertEquals(new Reply(Nbd.OPT_LIST_META_CONTEXT, Nbd.REP_ERR_INVALID, "negotiate structured replies first"), reply(tls),
                    "structured replies from before TLS are forgotten");
            option(tls, Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(new Reply(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, ""), reply(tls));
            option(tls, Nbd.OPT_LIST, new byte[0]);
            assertEquals(new Reply(Nbd.OPT_LIST, Nbd.REP_SERVER, "\0\0\0\1a"), reply(tls));
            assertEquals(new Reply(Nbd.OPT_LIST, Nbd.REP_SERVER, "\0\0\0\1bdisk b"), reply(tls));
            assertEquals(Nbd.REP_ACK, reply(tls).type());
            option(tls, Nbd.OPT_ABORT, new byte[0]);
            assertEquals(Nbd.REP_ACK, reply(tls).type());
            assertEquals(-1, tls.read(ByteBuffer.allocate(1)), "the server shuts TLS down cleanly (close_notify)");
            assertNull(done.get(30, TimeUnit.SECONDS));
            assertEquals("TLSv1.3", h.transport().peer().client().tlsVersion());
            h.transport().close();
            tls.close();
        }
    }
}
