package org.nbdosgi.engine.transport;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A client's byte stream: what one connection reads its handshake and requests from and writes its
 * replies to. The protocol code ({@code WireIn}, {@code ReplyWriter}, the handshake and the
 * transmission) sees only this, never a socket. Blocking: reads wait for data, writes for room.
 * One thread reads (the connection's reader); writes come from one thread at a time (the reply
 * writer serialises them), possibly while the reader is blocked in a read.
 *
 * <p>How the other transports fit:
 * <ul>
 * <li><b>TLS (NBD_OPT_STARTTLS)</b>: a TLS transport wraps the plain one (it reads and writes TLS
 * records through it) and implements this interface with the plaintext. After the ACK to STARTTLS
 * the handshake runs the TLS handshake over the plain transport, then continues on the TLS one,
 * its {@code WireIn} pointed at it. That {@code WireIn} holds nothing unread at that moment: until
 * transmission it never reads ahead of the bytes it was asked for, so no plaintext sent after the
 * option can be taken for TLS data. Closing or shutting
 * down the TLS transport closes or shuts down the plain one below; {@link #peer} adds the TLS
 * identity to the plain transport's.
 * <li><b>Standard input and output ({@code -s})</b>: reads come from one channel (stdin), gathering
 * writes go to another (stdout); {@link #shutdownInput} closes stdin, {@link #close} both.
 * <li><b>Socket activation</b>: the inherited listening socket accepts {@link SocketTransport}s
 * like any other.
 * </ul>
 */
public interface Transport extends Closeable {
    /**
     * Reads at most {@code dst.remaining()} bytes into {@code dst}, waiting until at least one is
     * there. Returns the number read, or -1 at the end of the stream (the client closed it, or
     * {@link #shutdownInput} was called).
     */
    int read(ByteBuffer dst) throws IOException;

    /**
     * As {@link #read}, but never waits: reads what is there now (possibly nothing) and returns its
     * count, or -1 if this transport cannot read without waiting.
     */
    default int tryRead(ByteBuffer dst) throws IOException {
        return -1;
    }

    /**
     * Whether the reader should poll ({@link #tryRead}) for the rest of a large write payload rather
     * than sleep in {@link #read} until some of it is there. Polling takes each piece as it comes:
     * over a Unix socket that keeps the client sending, since its small socket buffer stops it when
     * full (1 MiB writes at depth 16: sleeping instead gave 0.85 of the MiB/s on the memory
     * plugin); over TCP it costs a read and a window update per piece, where sleeping lets the
     * pieces gather (polling made 56 to 124 reads per 1 MiB write over loopback; sleeping gave 1.27
     * times its MiB/s).
     */
    default boolean pollsLargePayloads() {
        return false;
    }

    /**
     * Writes from {@code srcs[offset]} to {@code srcs[offset + length - 1]} in one gathering write,
     * as much as fits now, advancing each buffer's position. Returns the number of bytes written,
     * possibly fewer than remain: callers loop.
     */
    long write(ByteBuffer[] srcs, int offset, int length) throws IOException;

    /**
     * As {@link #write}, but never waits: writes what fits now (possibly nothing) and returns its
     * count, or -1 if this transport cannot write without waiting (then {@link #write} must).
     */
    default long tryWrite(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return -1;
    }

    /**
     * Stops reading: the reader's current or next read ends (-1 or an exception), while writing
     * goes on, so replies already queued still reach the client. Any thread.
     */
    void shutdownInput() throws IOException;

    /**
     * Ends the stream as a clean disconnect requires, before the close, after the last reply (TLS
     * sends its close_notify; a plain socket has nothing to add). The connection's thread.
     */
    default void finish() throws IOException {
    }

    /** Closes both directions; a blocked read or write fails. Any thread; a second call does nothing. */
    @Override
    void close() throws IOException;

    /** Who is at the other end, as far as this transport knows. */
    Peer peer();
}
