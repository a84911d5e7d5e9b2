package org.nbdosgi.engine.transport;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The command line's {@code -s}: one client on the process's standard input (reads) and standard
 * output (gathering writes), which may be two pipes or one socket (inetd, nbdsh's
 * {@code connect_command}). The launcher points {@code System.out} elsewhere in this mode, so
 * nothing but replies reaches file descriptor 1.
 */
public final class StdioTransport implements Transport {
    private final FileChannel in = new FileInputStream(FileDescriptor.in).getChannel();
    private final FileChannel out = new FileOutputStream(FileDescriptor.out).getChannel();
    private final Peer peer = new Peer("stdin");

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return in.read(dst);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return out.write(srcs, offset, length);
    }

    @Override
    public void shutdownInput() throws IOException {
        in.close();
    }

    @Override
    public void close() throws IOException {
        try {
            in.close();
        } finally {
            out.close();
        }
    }

    @Override
    public Peer peer() {
        return peer;
    }
}
