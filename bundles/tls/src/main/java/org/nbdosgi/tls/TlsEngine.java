package org.nbdosgi.tls;

import java.nio.ByteBuffer;

/**
 * One TLS connection's state machine, without I/O: the TLS library's whole part, so that
 * {@link TlsChannel} (buffers, sockets, locks) is the same whatever library does the TLS. Ciphertext
 * goes in through {@link #receive} and comes out through {@link #send}. Buffers passed in are
 * direct. Not thread-safe: the caller serializes every call and never calls after {@link #close}.
 */
public interface TlsEngine extends AutoCloseable {
    /** Takes ciphertext from the peer, all of {@code ciphertext} from position to limit. */
    void receive(ByteBuffer ciphertext) throws TlsException;

    /** Advances the handshake; true once it is complete, false while it needs more ciphertext. */
    boolean handshake() throws TlsException;

    /** Decrypts into {@code plaintext}: bytes read, 0 when more ciphertext is needed, -1 when the peer closed TLS. */
    int read(ByteBuffer plaintext) throws TlsException;

    /** Encrypts all of {@code plaintext}; the records wait in the engine for {@link #send}. */
    void write(ByteBuffer plaintext) throws TlsException;

    /** Bytes of ciphertext waiting to be sent. */
    int pending();

    /** Moves waiting ciphertext into {@code ciphertext}; returns how many bytes. */
    int send(ByteBuffer ciphertext);

    /** Queues a close_notify alert. */
    void closeNotify();

    /** Who the peer is, once the handshake is complete. */
    TlsPeer peer();

    /** Frees the native state. */
    @Override
    void close();
}
