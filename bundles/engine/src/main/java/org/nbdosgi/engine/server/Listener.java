package org.nbdosgi.engine.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.engine.transport.Peer;
import org.nbdosgi.engine.transport.PeerCredentials;
import org.nbdosgi.engine.transport.SocketTransport;
import org.nbdosgi.engine.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One listening socket (TCP or Unix domain) and the virtual thread that accepts on it. */
final class Listener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Listener.class);

    interface Acceptor {
        void accepted(Transport client);
    }

    private final ServerSocketChannel server;
    private final SocketAddress address;
    private final Thread thread;

    private Listener(ServerSocketChannel server, SocketAddress address, Acceptor acceptor) {
        this.server = server;
        this.address = address;
        this.thread = Thread.ofVirtual().name("nbd-accept-" + describe(address)).start(() -> acceptLoop(acceptor));
    }

    static Listener tcp(InetSocketAddress address, Acceptor acceptor) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        try {
            s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            s.bind(address, 128);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot listen on " + describe(address) + ": " + e.getMessage(), e);
        }
        return new Listener(s, s.getLocalAddress(), acceptor);
    }

    static Listener unix(Path path, Acceptor acceptor) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            s.bind(UnixDomainSocketAddress.of(path), 128);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
        }
        return new Listener(s, UnixDomainSocketAddress.of(path), acceptor);
    }

    SocketAddress address() {
        return address;
    }

    /** The TCP port, or -1 for a Unix socket. */
    int port() {
        return address instanceof InetSocketAddress i ? i.getPort() : -1;
    }

    private void acceptLoop(Acceptor acceptor) {
        long n = 0;
        while (server.isOpen()) {
            try {
                SocketChannel c = server.accept();
                Peer peer;
                if (address instanceof InetSocketAddress) {
                    c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    peer = new Peer(describe(c.getRemoteAddress()), PeerCredentials.tcp(c));
                } else {
                    peer = new Peer("unix:" + (++n), PeerCredentials.unix(c));
                }
                acceptor.accepted(new SocketTransport(c, peer));
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("accept on {} failed: {}", describe(address), e.getMessage());
            }
        }
    }

    static String describe(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            String host = i.getAddress() == null ? i.getHostString() : i.getAddress().getHostAddress();
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + i.getPort();
        }
        return a instanceof UnixDomainSocketAddress u ? u.getPath().toString() : String.valueOf(a);
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        thread.interrupt();
        if (address instanceof UnixDomainSocketAddress u) {
            try {
                Files.deleteIfExists(u.getPath());
            } catch (IOException e) {
                LOG.warn("cannot remove socket {}: {}", u.getPath(), e.getMessage());
            }
        }
    }
}
