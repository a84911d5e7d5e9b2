package org.nbdosgi.tls;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** A connected pair of TCP sockets on loopback, and TLS handshakes over it for tests. */
final class Loopback implements AutoCloseable {
    final SocketChannel server;
    final SocketChannel client;

    Loopback() throws IOException {
        try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client = SocketChannel.open(l.getLocalAddress());
            server = l.accept();
        }
    }

    record Pair(TlsChannel server, TlsChannel client) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            server.close();
            client.close();
        }

        /** Sends a few bytes each way: the session works. */
        void exchange() throws IOException {
            roundTrip(client, server);
            roundTrip(server, client);
        }

        private static void roundTrip(TlsChannel from, TlsChannel to) throws IOException {
            from.write(ByteBuffer.wrap("ping".getBytes()));
            ByteBuffer got = ByteBuffer.allocate(4);
            while (got.hasRemaining()) {
                if (to.read(got) < 0) {
                    throw new IOException("closed");
                }
            }
            if (!new String(got.array()).equals("ping")) {
                throw new IOException("garbled");
            }
        }
    }

    /** Both handshakes at once; the server's failure, if any, is the one thrown. */
    Pair handshake(Callable<TlsEngine> serverEngine, TlsContext clientContext) throws Exception {
        CompletableFuture<TlsChannel> s = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                s.complete(TlsChannel.handshake(server, serverEngine.call()));
            } catch (Throwable t) {
                s.completeExceptionally(t);
                closeQuietly(server);
            }
        });
        TlsChannel c = null;
        Exception clientFailure = null;
        try {
            c = TlsChannel.handshake(client, clientContext.newEngine());
        } catch (IOException e) {
            clientFailure = e;
            client.close();
        }
        try {
            TlsChannel sc = s.get(30, TimeUnit.SECONDS);
            if (clientFailure != null) {
                throw clientFailure;
            }
            return new Pair(sc, c);
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    static TlsContext certificateClient(Path clientDir) throws TlsException {
        return TlsContext.open(new Credentials(false, clientDir.resolve("ca-cert.pem"), null,
                clientDir.resolve("client-cert.pem"), clientDir.resolve("client-key.pem"), true, Map.of()));
    }

    static TlsContext pskClient(String identity, byte[] key) throws TlsException {
        return TlsContext.open(new Credentials(false, null, null, null, null, false, Map.of(identity, key)));
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // test cleanup
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        client.close();
    }
}
