package org.nbdosgi.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS between two of our own channels over loopback TCP: handshakes, data both ways, every refusal. */
class TlsChannelTest {
    @TempDir
    static Path dir;
    static TestPki pki;

    private Loopback sockets;
    private SocketChannel serverSide;
    private SocketChannel clientSide;

    @BeforeAll
    static void makePki() throws IOException {
        pki = TestPki.create(dir.resolve("pki"));
    }

    @BeforeEach
    void connect() throws IOException {
        sockets = new Loopback();
        serverSide = sockets.server;
        clientSide = sockets.client;
    }

    @AfterEach
    void close() throws IOException {
        sockets.close();
    }

    private static TlsContext server(boolean verifyPeer, Path psk) throws TlsException {
        return TlsContext.open(new TlsSettings(pki.serverDir(), verifyPeer, psk).load());
    }

    private static TlsContext client(Path clientDir) throws TlsException {
        return Loopback.certificateClient(clientDir);
    }

    private static TlsContext pskClient(String identity, byte[] key) throws TlsException {
        return Loopback.pskClient(identity, key);
    }

    private Loopback.Pair handshake(TlsContext server, TlsContext client) throws Exception {
        return sockets.handshake(server::newEngine, client);
    }

    @Test
    void certificateHandshakeCarriesDataBothWaysAtOnce() throws Exception {
        try (TlsContext server = server(true, null); TlsContext client = client(pki.client("alice"))) {
            Loopback.Pair p = handshake(server, client);
            TlsPeer peer = p.server().peer();
            assertEquals("TLSv1.3", peer.version());
            assertEquals("TLS_AES_256_GCM_SHA384", peer.cipher());
            assertEquals(List.of("subject:CN=alice,O=Example", "dns:alice.example.com"), peer.identities());
            assertEquals("subject:CN=localhost,O=nbd-osgi test", p.client().peer().identities().get(0));

            byte[] up = random(9 << 20, 1);
            byte[] down = random(7 << 20, 2);
            CompletableFuture<byte[]> serverGot = CompletableFuture.supplyAsync(() -> readAll(p.server(), up.length));
            CompletableFuture<Void> serverSent = CompletableFuture.runAsync(() -> writeMixed(p.server(), down));
            writeMixed(p.client(), up);
            byte[] clientGot = readAll(p.client(), down.length);
            serverSent.get(60, TimeUnit.SECONDS);
            assertArrayEquals(digest(up), digest(serverGot.get(60, TimeUnit.SECONDS)));
            assertArrayEquals(digest(down), digest(clientGot));

            p.client().closeNotify();
            assertEquals(-1, p.server().read(ByteBuffer.allocate(10)), "close_notify reads as the end");
            p.server().close();
            p.client().close();
            assertFalse(p.server().isOpen());
        }
    }

    @Test
    void pskHandshakeNamesTheIdentity() throws Exception {
        Path psk = pki.pskFile("keys.psk", "alice", "bob");
        byte[] key = PskFile.read(psk).get("bob");
        try (TlsContext server = server(false, psk); TlsContext client = pskClient("bob", key)) {
            Loopback.Pair p = handshake(server, client);
            assertEquals(List.of("psk:bob"), p.server().peer().identities());
            assertEquals("TLS_AES_128_GCM_SHA256", p.server().peer().cipher(), "a SHA-256 suite, as a PSK needs");
            p.client().write(ByteBuffer.wrap("hello".getBytes()));
            ByteBuffer got = ByteBuffer.allocate(5);
            while (got.hasRemaining()) {
                p.server().read(got);
            }
            assertEquals("hello", new String(got.array()));
            p.client().close();
            p.server().close();
        }
    }

    @Test
    void wrongPskKeyIsRefusedNamingTheIdentity() throws Exception {
        Path psk = pki.pskFile("wrong.psk", "alice");
        try (TlsContext server = server(false, psk); TlsContext client = pskClient("alice", new byte[32])) {
            TlsException e = assertThrows(TlsException.class, () -> handshake(server, client));
            assertEquals("TLS handshake failed: wrong pre-shared key for identity 'alice'", e.getMessage());
        }
    }

    @Test
    void unknownPskIdentityIsRefused() throws Exception {
        Path psk = pki.pskFile("unknown.psk", "alice");
        try (TlsContext server = TlsContext.open(new TlsSettings(null, false, psk).load());
             TlsContext client = pskClient("mallory", new byte[32])) {
            TlsException e = assertThrows(TlsException.class, () -> handshake(server, client));
            assertEquals("TLS handshake failed: unknown PSK identity 'mallory'", e.getMessage());
        }
    }

    @Test
    void clientWithoutCertificateIsRefusedWhenPeersAreVerified() throws Exception {
        try (TlsContext server = server(true, null);
             TlsContext client = TlsContext.open(new Credentials(false, pki.caCertificate(), null, null, null, true, Map.of()))) {
            TlsException e = assertThrows(TlsException.class, () -> handshake(server, client));
            assertTrue(e.getMessage().contains("peer did not return a certificate"), e.getMessage());
        }
    }

    @Test
    void expiredCertificateIsRefused() throws Exception {
        try (TlsContext server = server(true, null); TlsContext client = client(pki.expiredClient("old"))) {
            TlsException e = assertThrows(TlsException.class, () -> handshake(server, client));
            assertTrue(e.getMessage().contains("certificate has expired"), e.getMessage());
        }
    }

    @Test
    void certificateFromAnotherCaIsRefused() throws Exception {
        try (TlsContext server = server(true, null); TlsContext client = client(pki.foreignClient("eve"))) {
            TlsException e = assertThrows(TlsException.class, () -> handshake(server, client));
            assertTrue(e.getMessage().contains("unable to get local issuer certificate"), e.getMessage());
        }
    }

    @Test
    void garbageInsteadOfClientHelloFailsCleanly() throws Exception {
        try (TlsContext server = server(false, null)) {
            clientSide.write(ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes()));
            TlsException e = assertThrows(TlsException.class, () -> TlsChannel.handshake(serverSide, server.newEngine()));
            assertTrue(e.getMessage().startsWith("TLS handshake failed: "), e.getMessage());
        }
    }

    @Test
    void peerClosingDuringTheHandshakeIsReported() throws Exception {
        try (TlsContext server = server(false, null)) {
            clientSide.write(ByteBuffer.wrap(new byte[] {0x16, 0x03, 0x01, 0x00, 0x40, 0x01}));   // a ClientHello begins
            clientSide.close();
            TlsException e = assertThrows(TlsException.class, () -> TlsChannel.handshake(serverSide, server.newEngine()));
            assertEquals("the peer closed the connection during the TLS handshake", e.getMessage());
        }
    }

    @Test
    void closingWakesABlockedReader() throws Exception {
        try (TlsContext server = server(false, null); TlsContext client = client(pki.client("dave"))) {
            Loopback.Pair p = handshake(server, client);
            CompletableFuture<Throwable> reader = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    p.server().read(ByteBuffer.allocateDirect(100));
                    reader.complete(null);
                } catch (Throwable t) {
                    reader.complete(t);
                }
            });
            Thread.sleep(100);
            p.server().close();
            assertTrue(reader.get(10, TimeUnit.SECONDS) instanceof IOException);
            assertThrows(IOException.class, () -> p.server().write(ByteBuffer.allocate(1)));
            p.client().close();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code data} in gathering writes of mixed sizes, heap and direct, as a reply writer does. */
    private static void writeMixed(TlsChannel c, byte[] data) {
        try {
            Random r = new Random(data.length);
            int at = 0;
            while (at < data.length) {
                int parts = 1 + r.nextInt(6);
                ByteBuffer[] bufs = new ByteBuffer[parts];
                for (int i = 0; i < parts; i++) {
                    int n = Math.min(data.length - at, r.nextBoolean() ? 1 + r.nextInt(40) : 1 + r.nextInt(300_000));
                    ByteBuffer b = r.nextBoolean() ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
                    b.put(data, at, n).flip();
                    bufs[i] = b;
                    at += n;
                }
                c.write(bufs);
                for (ByteBuffer b : bufs) {
                    assertFalse(b.hasRemaining());
                }
            }
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static byte[] readAll(TlsChannel c, int n) {
        try {
            byte[] out = new byte[n];
            Random r = new Random(n);
            int at = 0;
            while (at < n) {
                int want = Math.min(n - at, 1 + r.nextInt(200_000));
                ByteBuffer b = r.nextBoolean() ? ByteBuffer.allocateDirect(want) : ByteBuffer.allocate(want);
                int got = c.read(b);
                if (got < 0) {
                    throw new IOException("early end after " + at);
                }
                b.flip().get(out, at, got);
                at += got;
            }
            return out;
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static byte[] digest(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }
}
