package org.nbdosgi.tls.openssl;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import javax.security.auth.x500.X500Principal;

import org.nbdosgi.tls.TlsEngine;
import org.nbdosgi.tls.TlsException;
import org.nbdosgi.tls.TlsPeer;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * One OpenSSL connection ({@code SSL}) between two memory BIOs: ciphertext from the peer is
 * written into the read BIO, ciphertext for the peer is read out of the write BIO. Plaintext goes
 * straight between OpenSSL and the caller's direct buffers. The error queue is cleared before each
 * call and read right after it (see {@link OpenSslErrors}).
 */
final class OpenSslEngine implements TlsEngine {
    private final OpenSslContext context;
    private final long ssl;
    private final long rbio;
    private final long wbio;
    private TlsPeer peer;

    OpenSslEngine(OpenSslContext context, long ctx, boolean server) throws TlsException {
        this.context = context;
        LibSsl.ERR_clear_error();
        long s = LibSsl.SSL_new(ctx);
        if (s == 0) {
            throw new TlsException("cannot start TLS: " + OpenSslErrors.drain());
        }
        long r = LibSsl.BIO_new(LibSsl.BIO_s_mem());
        long w = LibSsl.BIO_new(LibSsl.BIO_s_mem());
        if (r == 0 || w == 0) {
            LibSsl.BIO_free(r);
            LibSsl.BIO_free(w);
            LibSsl.SSL_free(s);
            throw new TlsException("cannot start TLS: out of memory");
        }
        LibSsl.SSL_set_bio(s, r, w);                          // the SSL owns both BIOs now
        if (server) {
            LibSsl.SSL_set_accept_state(s);
        } else {
            LibSsl.SSL_set_connect_state(s);
        }
        this.ssl = s;
        this.rbio = r;
        this.wbio = w;
    }

    private static long address(ByteBuffer b) {
        return Pointer.nativeValue(Native.getDirectBufferPointer(b)) + b.position();
    }

    @Override
    public void receive(ByteBuffer ciphertext) throws TlsException {
        while (ciphertext.hasRemaining()) {
            int n = LibSsl.BIO_write(rbio, address(ciphertext), ciphertext.remaining());
            if (n <= 0) {
                throw new TlsException("TLS input buffer refused data");
            }
            ciphertext.position(ciphertext.position() + n);
        }
    }

    @Override
    public boolean handshake() throws TlsException {
        LibSsl.ERR_clear_error();
        int rc = LibSsl.SSL_do_handshake(ssl);
        if (rc == 1) {
            peer = describePeer();
            return true;
        }
        int err = LibSsl.SSL_get_error(ssl, rc);
        if (err == LibSsl.SSL_ERROR_WANT_READ) {
            return false;
        }
        throw new TlsException("TLS handshake failed: " + handshakeFailure(err));
    }

    @Override
    public int read(ByteBuffer plaintext) throws TlsException {
        LibSsl.ERR_clear_error();
        int n = LibSsl.SSL_read(ssl, address(plaintext), plaintext.remaining());
        if (n > 0) {
            plaintext.position(plaintext.position() + n);
            return n;
        }
        int err = LibSsl.SSL_get_error(ssl, n);
        return switch (err) {
            case LibSsl.SSL_ERROR_WANT_READ -> 0;
            case LibSsl.SSL_ERROR_ZERO_RETURN -> -1;
            default -> throw new TlsException("TLS read failed: " + reason(err));
        };
    }

    @Override
    public void write(ByteBuffer plaintext) throws TlsException {
        while (plaintext.hasRemaining()) {
            LibSsl.ERR_clear_error();
            int n = LibSsl.SSL_write(ssl, address(plaintext), plaintext.remaining());
            if (n <= 0) {
                throw new TlsException("TLS write failed: " + reason(LibSsl.SSL_get_error(ssl, n)));
            }
            plaintext.position(plaintext.position() + n);
        }
    }

    @Override
    public int pending() {
        return (int) LibSsl.BIO_ctrl_pending(wbio);
    }

    @Override
    public int send(ByteBuffer ciphertext) {
        if (!ciphertext.hasRemaining()) {
            return 0;
        }
        int n = LibSsl.BIO_read(wbio, address(ciphertext), ciphertext.remaining());
        if (n <= 0) {
            return 0;
        }
        ciphertext.position(ciphertext.position() + n);
        return n;
    }

    @Override
    public void closeNotify() {
        LibSsl.ERR_clear_error();
        LibSsl.SSL_shutdown(ssl);
        LibSsl.ERR_clear_error();
    }

    @Override
    public TlsPeer peer() {
        return peer;
    }

    @Override
    public void close() {
        context.forget(ssl);
        LibSsl.SSL_free(ssl);                                 // frees the BIOs too
    }

    /** Why a handshake failed: an unknown PSK identity or a wrong key explain OpenSSL's reason. */
    private String handshakeFailure(int err) {
        OpenSslContext.Offered psk = context.pskIdentity(ssl);
        if (psk != null && !psk.known()) {
            OpenSslErrors.drain();
            return "unknown PSK identity '" + psk.identity() + "'";
        }
        String why = reason(err);
        if (psk != null && why.contains("binder does not verify")) {
            return "wrong pre-shared key for identity '" + psk.identity() + "'";
        }
        return why;
    }

    /** OpenSSL's reason, with the certificate verification result when that is what failed. */
    private String reason(int err) {
        String queued = OpenSslErrors.drain();
        if (err == LibSsl.SSL_ERROR_SYSCALL && queued.equals("unknown error")) {
            return "the peer closed the connection";
        }
        long verify = LibSsl.SSL_get_verify_result(ssl);
        if (queued.contains("certificate verify failed") && verify != LibSsl.X509_V_OK) {
            return queued + " (" + LibSsl.X509_verify_cert_error_string(verify).getString(0) + ")";
        }
        return queued;
    }

    private TlsPeer describePeer() throws TlsException {
        String version = LibSsl.SSL_get_version(ssl).getString(0);
        long cipher = LibSsl.SSL_get_current_cipher(ssl);
        String cipherName = cipher == 0 ? "none" : LibSsl.SSL_CIPHER_get_name(cipher).getString(0);
        List<String> identities = new ArrayList<>();
        OpenSslContext.Offered psk = context.pskIdentity(ssl);
        if (psk != null && psk.known()) {
            identities.add("psk:" + psk.identity());
        } else {
            X509Certificate cert = peerCertificate();
            if (cert != null) {
                identities.addAll(names(cert));
            }
        }
        return new TlsPeer(version, cipherName, identities);
    }

    /** The peer's certificate if OpenSSL verified it, else null. */
    private X509Certificate peerCertificate() throws TlsException {
        long x509 = LibSsl.SSL_get1_peer_certificate(ssl);
        if (x509 == 0) {
            return null;
        }
        try {
            if (LibSsl.SSL_get_verify_result(ssl) != LibSsl.X509_V_OK) {
                return null;
            }
            int length = LibSsl.i2d_X509(x509, null);
            if (length <= 0) {
                return null;
            }
            try (Memory der = new Memory(length); Memory cursor = new Memory(Native.POINTER_SIZE)) {
                cursor.setPointer(0, der);
                LibSsl.i2d_X509(x509, cursor);
                byte[] bytes = der.getByteArray(0, length);
                return (X509Certificate) CertificateFactory.getInstance("X.509")
                        .generateCertificate(new ByteArrayInputStream(bytes));
            }
        } catch (CertificateException e) {
            throw new TlsException("the peer's certificate cannot be read: " + e.getMessage(), e);
        } finally {
            LibSsl.X509_free(x509);
        }
    }

    /** {@code subject:DN}, then the subject alternative names. */
    static List<String> names(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        out.add("subject:" + cert.getSubjectX500Principal().getName(X500Principal.RFC2253));
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    String kind = switch ((Integer) san.get(0)) {
                        case 1 -> "email:";
                        case 2 -> "dns:";
                        case 6 -> "uri:";
                        case 7 -> "ip:";
                        default -> null;
                    };
                    if (kind != null && san.get(1) instanceof String v) {
                        out.add(kind + v);
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // the subject alone identifies the client
        }
        return out;
    }
}
