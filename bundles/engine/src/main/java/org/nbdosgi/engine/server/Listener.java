package org.nbdosgi.engine.server;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

import org.nbdosgi.engine.transport.Peer;
import org.nbdosgi.engine.transport.PeerCredentials;
import org.nbdosgi.engine.transport.SocketTransport;
import org.nbdosgi.engine.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listening socket (TCP or Unix domain) and the virtual thread that accepts on it.
 *
 * <p>The listen backlog is the system's maximum (the kernel caps what is asked at
 * {@code net.core.somaxconn}, as nbdkit's {@code SOMAXCONN} is), so a burst of connects waits in the
 * queue instead of failing with EAGAIN. A Unix socket appears at its path only once it accepts: it
 * is bound and listening under a temporary name beside the path, then renamed into place, so a
 * client that connects the moment the file exists is never refused.
 */
final class Listener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Listener.class);
    /** As many as the kernel allows: listen(2) caps it at net.core.somaxconn. */
    private static final int BACKLOG = Integer.MAX_VALUE;
    /** What a Unix socket address holds: sun_path is 108 bytes with its terminating NUL. */
    private static final int SOCKET_PATH_MAX = 107;

    interface Acceptor {
        void accepted(Transport client);
    }

    private final ServerSocketChannel server;
    private final SocketAddress address;
    private final boolean ipv6Only;
    private final boolean owned;
    private final Thread thread;

    private Listener(ServerSocketChannel server, SocketAddress address, Acceptor acceptor, boolean ipv6Only, boolean owned) {
        this.server = server;
        this.address = address;
        this.ipv6Only = ipv6Only;
        this.owned = owned;
        this.thread = Thread.ofVirtual().name("nbd-accept-" + describe(address)).start(() -> acceptLoop(acceptor));
    }

    static Listener tcp(InetSocketAddress address, Acceptor acceptor, boolean ipv6Only) throws IOException {
        // an IPv4 address gets an IPv4 socket: on a dual-stack one, 0.0.0.0 would mean IPv6 too
        ServerSocketChannel s = address.getAddress() instanceof Inet4Address
                ? ServerSocketChannel.open(StandardProtocolFamily.INET) : ServerSocketChannel.open();
        try {
            s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            s.bind(address, BACKLOG);
        } catch (IOException e) {
            s.close();
            throw new IOException("cannot listen on " + describe(address) + ": " + e.getMessage(), e);
        }
        return new Listener(s, s.getLocalAddress(), acceptor, ipv6Only, true);
    }

    /** A listening socket someone else made and bound (systemd); its socket file is not ours to remove. */
    static Listener inherited(ServerSocketChannel s, Acceptor acceptor) throws IOException {
        s.configureBlocking(true);
        return new Listener(s, s.getLocalAddress(), acceptor, false, false);
    }

    static Listener unix(Path path, Acceptor acceptor) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Path staged = staging(path);
        try {
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException("Address already in use");
            }
            s.bind(UnixDomainSocketAddress.of(staged), BACKLOG);
            if (!staged.equals(path)) {
                Files.move(staged, path, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            s.close();
            if (!staged.equals(path)) {
                Files.deleteIfExists(staged);
            }
            throw new IOException("cannot listen on " + path + ": " + e.getMessage(), e);
        }
        return new Listener(s, UnixDomainSocketAddress.of(path), acceptor, false, true);
    }

    /**
     * Where to bind before renaming into {@code path}: a new name beside it, or {@code path} itself
     * when a name beside it would not fit in a socket address (then the file may appear a few
     * microseconds before the socket listens).
     */
    private static Path staging(Path path) {
        Path absolute = path.toAbsolutePath();
        String name = ".nbd-" + Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36 * 36), 36);
        Path staged = absolute.resolveSibling(name);
        boolean fits = staged.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= SOCKET_PATH_MAX;
        return fits ? staged : path;
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
                    if (ipv6Only && c.getRemoteAddress() instanceof InetSocketAddress r && r.getAddress() instanceof Inet4Address) {
                        c.close();                          // -6: an IPv4 client on the dual-stack socket
                        continue;
                    }
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
        if (owned && address instanceof UnixDomainSocketAddress u) {
            try {
                Files.deleteIfExists(u.getPath());
            } catch (IOException e) {
                LOG.warn("cannot remove socket {}: {}", u.getPath(), e.getMessage());
            }
        }
    }
}
