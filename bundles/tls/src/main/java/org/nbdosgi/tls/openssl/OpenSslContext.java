package org.nbdosgi.tls.openssl;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.nbdosgi.tls.Credentials;
import org.nbdosgi.tls.TlsContext;
import org.nbdosgi.tls.TlsEngine;
import org.nbdosgi.tls.TlsException;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * An OpenSSL {@code SSL_CTX} made from {@link Credentials}: TLS 1.2 or later, no compression,
 * renegotiation, session tickets or session cache. Built on the control plane; engines are made
 * from it on the data plane. OpenSSL counts the references each connection holds, and each engine
 * holds this object (and so its PSK callback), so closing it while connections go on is safe.
 */
public final class OpenSslContext implements TlsContext {
    private static final String CERTIFICATE_SUITES = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
    private static final String PSK_SUITES = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

    private final long ctx;
    private final boolean server;
    private final Map<String, byte[]> psk;
    /** Held so that JNA keeps the native trampolines OpenSSL calls. */
    private final Object pskCallback;
    /** The PSK identity each connection (by SSL pointer) offered, until its engine closes. */
    private final Map<Long, Offered> pskIdentities = new ConcurrentHashMap<>();
    /** Engines are made under the read lock, the context is freed under the write lock. */
    private final ReadWriteLock freeing = new ReentrantReadWriteLock();
    private boolean closed;

    private OpenSslContext(long ctx, Credentials c) {
        this.ctx = ctx;
        this.server = c.server();
        this.psk = c.psk();
        if (psk.isEmpty()) {
            pskCallback = null;
        } else if (server) {
            LibSsl.PskServerCallback cb = this::serverPsk;
            LibSsl.SSL_CTX_set_psk_server_callback(ctx, cb);
            pskCallback = cb;
        } else {
            LibSsl.PskClientCallback cb = this::clientPsk;
            LibSsl.SSL_CTX_set_psk_client_callback(ctx, cb);
            pskCallback = cb;
        }
    }

    /** Whether OpenSSL 3 could be loaded; null if so, else why not. */
    public static String unavailable() {
        Throwable t = LibSsl.unavailable();
        return t == null ? null : "OpenSSL 3 (libssl.so.3) cannot be loaded: " + t.getMessage();
    }

    /** Loads the material; the message of a failure names the file and OpenSSL's reason. Control plane. */
    public static OpenSslContext open(Credentials c) throws TlsException {
        String why = unavailable();
        if (why != null) {
            throw new TlsException(why);
        }
        LibSsl.ERR_clear_error();
        long ctx = LibSsl.SSL_CTX_new(c.server() ? LibSsl.TLS_server_method() : LibSsl.TLS_client_method());
        if (ctx == 0) {
            throw new TlsException("cannot create a TLS context: " + OpenSslErrors.drain());
        }
        try {
            configure(ctx, c);
            return new OpenSslContext(ctx, c);
        } catch (TlsException | RuntimeException e) {
            LibSsl.SSL_CTX_free(ctx);
            throw e;
        }
    }

    private static void configure(long ctx, Credentials c) throws TlsException {
        LibSsl.SSL_CTX_ctrl(ctx, LibSsl.SSL_CTRL_SET_MIN_PROTO_VERSION, LibSsl.TLS1_2_VERSION, 0);
        LibSsl.SSL_CTX_set_options(ctx, LibSsl.SSL_OP_NO_COMPRESSION | LibSsl.SSL_OP_NO_RENEGOTIATION
                | LibSsl.SSL_OP_NO_TICKET | LibSsl.SSL_OP_CIPHER_SERVER_PREFERENCE);
        // a moving write buffer: the plaintext of a retried write may be at another address
        LibSsl.SSL_CTX_ctrl(ctx, LibSsl.SSL_CTRL_MODE, LibSsl.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, 0);
        LibSsl.SSL_CTX_ctrl(ctx, LibSsl.SSL_CTRL_SET_SESS_CACHE_MODE, LibSsl.SSL_SESS_CACHE_OFF, 0);
        LibSsl.SSL_CTX_set_num_tickets(ctx, 0);
        if (c.server()) {
            // OpenSSL treats a TLS 1.3 PSK handshake as a resumption, which a server verifying
            // peers refuses unless its context has a session id context (a client must not have one)
            byte[] sid = "nbd-osgi".getBytes(StandardCharsets.US_ASCII);
            check(LibSsl.SSL_CTX_set_session_id_context(ctx, sid, sid.length), "session id context: ");
        }
        // A TLS 1.3 external PSK is bound to SHA-256 (GnuTLS's and OpenSSL's default), and OpenSSL
        // drops it when the suite it chose first hashes with SHA-384: then SHA-256 suites go first.
        check(LibSsl.SSL_CTX_set_ciphersuites(ctx, c.psk().isEmpty() ? CERTIFICATE_SUITES : PSK_SUITES), "TLS 1.3 cipher suites: ");
        if (c.certificate() != null) {
            check(LibSsl.SSL_CTX_use_certificate_chain_file(ctx, c.certificate().toString()), c.certificate() + ": ");
            // an encrypted key would make OpenSSL prompt on the terminal: give it an empty passphrase instead
            try (Memory empty = new Memory(1)) {
                empty.setByte(0, (byte) 0);
                LibSsl.SSL_CTX_set_default_passwd_cb_userdata(ctx, empty);
                int ok = LibSsl.SSL_CTX_use_PrivateKey_file(ctx, c.key().toString(), LibSsl.SSL_FILETYPE_PEM);
                LibSsl.SSL_CTX_set_default_passwd_cb_userdata(ctx, null);
                check(ok, c.key() + ": ");
            }
            check(LibSsl.SSL_CTX_check_private_key(ctx), c.key() + " does not match " + c.certificate() + ": ");
        }
        if (c.caCertificate() != null) {
            check(LibSsl.SSL_CTX_load_verify_locations(ctx, c.caCertificate().toString(), null), c.caCertificate() + ": ");
            if (c.server()) {
                long names = LibSsl.SSL_load_client_CA_file(c.caCertificate().toString());
                if (names != 0) {
                    LibSsl.SSL_CTX_set_client_CA_list(ctx, names);   // the context owns the list now
                }
            }
        }
        if (c.revocationList() != null) {
            loadRevocations(ctx, c);
        }
        if (c.verifyPeer()) {
            if (c.caCertificate() == null) {
                throw new TlsException("verifying the peer needs a CA certificate");
            }
            int mode = LibSsl.SSL_VERIFY_PEER | (c.server() ? LibSsl.SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
            LibSsl.SSL_CTX_set_verify(ctx, mode, null);
        } else {
            LibSsl.SSL_CTX_set_verify(ctx, LibSsl.SSL_VERIFY_NONE, null);
        }
        if (c.server() && c.certificate() == null && c.psk().isEmpty()) {
            throw new TlsException("a TLS server needs a certificate or pre-shared keys");
        }
        LibSsl.ERR_clear_error();
    }

    private static void loadRevocations(long ctx, Credentials c) throws TlsException {
        String file = c.revocationList().toString();
        long bio = LibSsl.BIO_new_file(file, "r");
        if (bio == 0) {
            throw new TlsException(file + ": " + OpenSslErrors.drain());
        }
        try {
            long store = LibSsl.SSL_CTX_get_cert_store(ctx);
            int count = 0;
            long crl;
            while ((crl = LibSsl.PEM_read_bio_X509_CRL(bio, 0, 0, 0)) != 0) {
                LibSsl.X509_STORE_add_crl(store, crl);       // the store takes its own reference
                LibSsl.X509_CRL_free(crl);
                count++;
            }
            LibSsl.ERR_clear_error();                         // the end of the file reads as an error
            if (count == 0) {
                throw new TlsException(file + ": no certificate revocation list in it");
            }
            LibSsl.X509_STORE_set_flags(store, LibSsl.X509_V_FLAG_CRL_CHECK);
        } finally {
            LibSsl.BIO_free(bio);
        }
    }

    private static void check(int result, String what) throws TlsException {
        if (result != 1) {
            throw new TlsException(what + OpenSslErrors.drain());
        }
    }

    @Override
    public TlsEngine newEngine() throws TlsException {
        freeing.readLock().lock();
        try {
            if (closed) {
                throw new TlsException("TLS context closed");
            }
            return new OpenSslEngine(this, ctx, server);   // SSL_new takes its own reference to ctx
        } finally {
            freeing.readLock().unlock();
        }
    }

    /** A PSK identity a connection offered, and whether this context has a key for it. */
    record Offered(String identity, boolean known) {
    }

    /** The PSK identity a connection offered, or null. */
    Offered pskIdentity(long ssl) {
        return pskIdentities.get(ssl);
    }

    void forget(long ssl) {
        pskIdentities.remove(ssl);
    }

    /** Called by OpenSSL inside a handshake, on the thread running it: the key for the client's identity. */
    private int serverPsk(long ssl, Pointer identity, Pointer out, int max) {
        String id = identity == null ? "" : identity.getString(0, StandardCharsets.UTF_8.name());
        byte[] key = psk.get(id);
        if (key == null || key.length > max) {
            pskIdentities.put(ssl, new Offered(id, false));
            return 0;                                        // unknown: no PSK handshake
        }
        out.write(0, key, 0, key.length);
        pskIdentities.put(ssl, new Offered(id, true));
        return key.length;
    }

    private int clientPsk(long ssl, Pointer hint, Pointer identity, int maxIdentity, Pointer out, int max) {
        Map.Entry<String, byte[]> e = psk.entrySet().iterator().next();
        byte[] id = e.getKey().getBytes(StandardCharsets.UTF_8);
        byte[] key = e.getValue();
        if (id.length + 1 > maxIdentity || key.length > max) {
            return 0;
        }
        identity.write(0, id, 0, id.length);
        identity.setByte(id.length, (byte) 0);
        out.write(0, key, 0, key.length);
        pskIdentities.put(ssl, new Offered(e.getKey(), true));
        return key.length;
    }

    @Override
    public void close() {
        freeing.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                LibSsl.SSL_CTX_free(ctx);
            }
        } finally {
            freeing.writeLock().unlock();
        }
    }
}
