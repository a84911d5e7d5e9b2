package org.nbdosgi.engine.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * Buffered reading from a client's socket: one direct buffer per connection, refilled with as much
 * as the socket has, so several small requests cost one system call. Used by one thread only (the
 * connection's reader).
 */
public final class WireIn {
    private final ReadableByteChannel channel;
    private final ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024).flip();

    public WireIn(ReadableByteChannel channel) {
        this.channel = channel;
    }

    /** Makes at least {@code n} (at most 64 KiB) bytes available, or throws EOFException. */
    private void need(int n) throws IOException {
        if (buf.remaining() >= n) {
            return;
        }
        buf.compact();
        try {
            while (buf.position() < n) {
                if (channel.read(buf) < 0) {
                    throw new EOFException("client closed the connection");
                }
            }
        } finally {
            buf.flip();
        }
    }

    public int readInt() throws IOException {
        need(4);
        return buf.getInt();
    }

    public long readLong() throws IOException {
        need(8);
        return buf.getLong();
    }

    public int readShort() throws IOException {
        need(2);
        return buf.getShort() & 0xffff;
    }

    /** Fills {@code dst} from its position to its limit (buffered bytes first, then the socket). */
    public void readFully(ByteBuffer dst) throws IOException {
        int n = Math.min(buf.remaining(), dst.remaining());
        if (n > 0) {
            dst.put(buf.slice(buf.position(), n));
            buf.position(buf.position() + n);
        }
        while (dst.hasRemaining()) {
            if (channel.read(dst) < 0) {
                throw new EOFException("client closed the connection");
            }
        }
    }

    public String readString(int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        readFully(b);
        return new String(b.array(), StandardCharsets.UTF_8);
    }

    /** Reads and drops {@code n} bytes, a buffer at a time, without holding them all in memory. */
    public void skip(long n) throws IOException {
        while (n > 0) {
            if (!buf.hasRemaining()) {
                need(1);
            }
            int k = (int) Math.min(n, buf.remaining());
            buf.position(buf.position() + k);
            n -= k;
        }
    }
}
