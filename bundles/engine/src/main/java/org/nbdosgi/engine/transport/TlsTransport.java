package org.nbdosgi.engine.transport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;

import org.nbdosgi.tls.TlsChannel;
import org.nbdosgi.tls.TlsEngine;
import org.nbdosgi.tls.TlsPeer;

/**
 * TLS over a plain transport, after NBD_OPT_STARTTLS: reads and writes plaintext, carried in TLS
 * records over the transport below. Shutting down or closing it shuts down or closes the plain
 * one; closing also frees the TLS state. Same threading as any transport (one reader, one writer
 * at a time, concurrently).
 */
public final class TlsTransport implements Transport {
    private final Transport plain;
    private final TlsChannel tls;
    private final Peer peer;

    private TlsTransport(Transport plain, TlsChannel tls) {
        this.plain = plain;
        this.tls = tls;
        TlsPeer p = tls.peer();
        this.peer = plain.peer().withTls(p.version(), p.cipher(), p.identities());
    }

    /**
     * Runs the TLS handshake over {@code plain} with {@code engine}; the transport on success, else
     * an exception saying why (the engine is freed; {@code plain} stays open for the caller to close).
     */
    public static TlsTransport handshake(Transport plain, TlsEngine engine) throws IOException {
        return new TlsTransport(plain, TlsChannel.handshake(new PlainChannel(plain), engine));
    }

    /** What TLS established: version, cipher, the client's identity. */
    public TlsPeer tlsPeer() {
        return tls.peer();
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return tls.read(dst);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return tls.write(srcs, offset, length);
    }

    @Override
    public void shutdownInput() throws IOException {
        plain.shutdownInput();
    }

    /** The TLS close_notify the spec asks for after NBD_CMD_DISC (and NBD_OPT_ABORT). */
    @Override
    public void finish() throws IOException {
        tls.closeNotify();
    }

    /** Closes the socket, then frees the TLS state once no reader or writer is inside. */
    @Override
    public void close() throws IOException {
        tls.close();
    }

    @Override
    public Peer peer() {
        return peer;
    }

    /** The plain transport as the channel TLS reads records from and writes them to. */
    private static final class PlainChannel implements ByteChannel {
        private final Transport plain;
        private final ByteBuffer[] one = new ByteBuffer[1];   // TLS writes from one thread at a time
        private volatile boolean open = true;

        PlainChannel(Transport plain) {
            this.plain = plain;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return plain.read(dst);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            one[0] = src;
            try {
                return (int) plain.write(one, 0, 1);
            } finally {
                one[0] = null;
            }
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() throws IOException {
            open = false;
            plain.close();
        }
    }
}
