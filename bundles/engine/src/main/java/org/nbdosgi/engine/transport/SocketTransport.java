package org.nbdosgi.engine.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/** A connected TCP or Unix domain socket in blocking mode. */
public final class SocketTransport implements Transport {
    private final SocketChannel channel;
    private final Peer peer;

    public SocketTransport(SocketChannel channel, Peer peer) {
        this.channel = channel;
        this.peer = peer;
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
    public void shutdownInput() throws IOException {
        channel.shutdownInput();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public Peer peer() {
        return peer;
    }
}
