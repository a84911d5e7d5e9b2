package org.nbdosgi.engine.transport;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;

/** A connected TCP or Unix domain socket in blocking mode. */
public final class SocketTransport implements Transport {
    private final SocketChannel channel;
    private final Peer peer;
    private final boolean unix;
    // a read or write without waiting and close() never overlap (see NonBlockingSocket)
    private final Object nativeIo = new Object();
    private NonBlockingSocket nonBlocking;
    private boolean nonBlockingTried;
    private boolean closed;

    public SocketTransport(SocketChannel channel, Peer peer) {
        this.channel = channel;
        this.peer = peer;
        this.unix = isUnix(channel);
    }

    /**
     * Makes the native calls a connection makes ready before the first one (Java 22 on: the code
     * {@code java.lang.foreign} generates for each function, several milliseconds in a fresh JVM,
     * which the first client would otherwise wait for): each is called once on descriptor -1,
     * where it fails with EBADF and changes nothing. Any thread; a connection may run meanwhile.
     */
    public static void prepare() {
        NonBlockingSocket.prepare();
        PeerCredentials.prepare();
    }

    private static boolean isUnix(SocketChannel channel) {
        try {
            return channel.getLocalAddress() instanceof UnixDomainSocketAddress;
        } catch (IOException e) {
            return false;                                    // closed already: it reads nothing more
        }
    }

    /** On a Unix socket; over TCP the reader sleeps for most of a large payload. */
    @Override
    public boolean pollsLargePayloads() {
        return unix;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return channel.write(srcs, offset, length);
    }

    @Override
    public int tryRead(ByteBuffer dst) throws IOException {
        synchronized (nativeIo) {
            NonBlockingSocket s = nonBlocking();
            return s == null ? -1 : s.receive(dst);
        }
    }

    private NonBlockingSocket nonBlocking() throws IOException {
        if (closed || !channel.isOpen()) {
            throw new ClosedChannelException();
        }
        if (!nonBlockingTried) {
            nonBlockingTried = true;
            nonBlocking = NonBlockingSocket.of(channel);
        }
        return nonBlocking;
    }

    /** sendmsg(2) with MSG_DONTWAIT on Java 22 and later ({@link NonBlockingSocket}); -1 before. */
    @Override
    public long tryWrite(ByteBuffer[] srcs, int offset, int length) throws IOException {
        synchronized (nativeIo) {
            NonBlockingSocket s = nonBlocking();
            return s == null ? -1 : s.send(srcs, offset, length);
        }
    }

    @Override
    public void shutdownInput() throws IOException {
        channel.shutdownInput();
    }

    @Override
    public void close() throws IOException {
        synchronized (nativeIo) {
            closed = true;
            if (nonBlocking != null) {
                nonBlocking.close();
                nonBlocking = null;
            }
        }
        channel.close();
    }

    @Override
    public Peer peer() {
        return peer;
    }
}
