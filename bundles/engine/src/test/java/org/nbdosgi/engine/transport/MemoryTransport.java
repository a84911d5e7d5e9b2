package org.nbdosgi.engine.transport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A transport in memory for tests: reads what the test put in {@link #input} (then the end of the
 * stream), writes into {@link #written}. A read takes as much as the caller asks for, so what is
 * left in {@code input} shows how far a reader read.
 */
public class MemoryTransport implements Transport {
    public final ByteBuffer input;
    public final ByteArrayOutputStream written = new ByteArrayOutputStream();
    public boolean inputShut;
    public boolean closed;

    public MemoryTransport(byte[] input) {
        this.input = ByteBuffer.wrap(input);
    }

    @Override
    public synchronized int read(ByteBuffer dst) {
        if (inputShut || !input.hasRemaining()) {
            return -1;
        }
        int n = Math.min(dst.remaining(), input.remaining());
        dst.put(input.slice(input.position(), n));
        input.position(input.position() + n);
        return n;
    }

    @Override
    public synchronized long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long n = 0;
        for (int i = offset; i < offset + length; i++) {
            byte[] b = new byte[srcs[i].remaining()];
            srcs[i].get(b);
            written.writeBytes(b);
            n += b.length;
        }
        return n;
    }

    @Override
    public synchronized void shutdownInput() {
        inputShut = true;
    }

    @Override
    public synchronized void close() {
        closed = true;
    }

    @Override
    public Peer peer() {
        return new Peer("memory");
    }
}
