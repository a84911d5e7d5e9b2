package org.nbdosgi.tls.openssl;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The few OpenSSL 3 calls TLS needs (libssl, and libcrypto through it), bound by JNA direct
 * mapping. Native pointers are {@code long}s: no conversion per call on the data path. Every call
 * returns at once (memory BIOs, no sockets in OpenSSL), so none of them parks a carrier thread.
 */
final class LibSsl {
    static final int SSL_FILETYPE_PEM = 1;
    static final int SSL_VERIFY_NONE = 0;
    static final int SSL_VERIFY_PEER = 0x01;
    static final int SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02;

    static final int SSL_ERROR_WANT_READ = 2;
    static final int SSL_ERROR_SYSCALL = 5;
    static final int SSL_ERROR_ZERO_RETURN = 6;

    static final int SSL_CTRL_MODE = 33;
    static final int SSL_CTRL_SET_SESS_CACHE_MODE = 44;
    static final int SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
    static final long SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2;
    static final long SSL_SESS_CACHE_OFF = 0;
    static final long TLS1_2_VERSION = 0x0303;

    static final long SSL_OP_NO_TICKET = 1L << 14;
    static final long SSL_OP_NO_COMPRESSION = 1L << 17;
    static final long SSL_OP_CIPHER_SERVER_PREFERENCE = 1L << 22;
    static final long SSL_OP_NO_RENEGOTIATION = 1L << 30;

    static final long X509_V_OK = 0;
    static final long X509_V_FLAG_CRL_CHECK = 0x4;

    private static final Throwable UNAVAILABLE;

    static {
        Throwable failure = null;
        try {
            Native.register(LibSsl.class, load());
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            failure = e;
        }
        UNAVAILABLE = failure;
    }

    private LibSsl() {
    }

    /** libssl.so.3 (the runtime package ships no unversioned name), else whatever JNA finds. */
    private static NativeLibrary load() {
        try {
            return NativeLibrary.getInstance("libssl.so.3");
        } catch (UnsatisfiedLinkError e) {
            return NativeLibrary.getInstance("ssl");
        }
    }

    /** Null when OpenSSL 3 is loaded, else why not. */
    static Throwable unavailable() {
        return UNAVAILABLE;
    }

    /** {@code unsigned int (*)(SSL *, const char *identity, unsigned char *psk, unsigned int max_psk_len)} */
    interface PskServerCallback extends Callback {
        int invoke(long ssl, Pointer identity, Pointer psk, int maxPskLength);
    }

    /** {@code unsigned int (*)(SSL *, const char *hint, char *identity, unsigned int max_identity_len, unsigned char *psk, unsigned int max_psk_len)} */
    interface PskClientCallback extends Callback {
        int invoke(long ssl, Pointer hint, Pointer identity, int maxIdentityLength, Pointer psk, int maxPskLength);
    }

    // ---- contexts ---------------------------------------------------------------------------

    static native long TLS_server_method();

    static native long TLS_client_method();

    static native long SSL_CTX_new(long method);

    static native void SSL_CTX_free(long ctx);

    static native long SSL_CTX_ctrl(long ctx, int cmd, long larg, long parg);

    static native long SSL_CTX_set_options(long ctx, long options);

    static native int SSL_CTX_set_num_tickets(long ctx, long tickets);

    static native int SSL_CTX_set_ciphersuites(long ctx, String suites);

    static native int SSL_CTX_set_session_id_context(long ctx, byte[] context, int length);

    static native void SSL_CTX_set_default_passwd_cb_userdata(long ctx, Pointer userdata);

    static native int SSL_CTX_use_certificate_chain_file(long ctx, String file);

    static native int SSL_CTX_use_PrivateKey_file(long ctx, String file, int type);

    static native int SSL_CTX_check_private_key(long ctx);

    static native int SSL_CTX_load_verify_locations(long ctx, String caFile, String caPath);

    static native void SSL_CTX_set_verify(long ctx, int mode, Pointer callback);

    static native long SSL_CTX_get_cert_store(long ctx);

    static native long SSL_load_client_CA_file(String file);

    static native void SSL_CTX_set_client_CA_list(long ctx, long names);

    static native void SSL_CTX_set_psk_server_callback(long ctx, PskServerCallback callback);

    static native void SSL_CTX_set_psk_client_callback(long ctx, PskClientCallback callback);

    // ---- connections ------------------------------------------------------------------------

    static native long SSL_new(long ctx);

    static native void SSL_free(long ssl);

    static native void SSL_set_bio(long ssl, long rbio, long wbio);

    static native void SSL_set_accept_state(long ssl);

    static native void SSL_set_connect_state(long ssl);

    static native int SSL_do_handshake(long ssl);

    static native int SSL_read(long ssl, long buffer, int length);

    static native int SSL_write(long ssl, long buffer, int length);

    static native int SSL_get_error(long ssl, int result);

    static native int SSL_shutdown(long ssl);

    static native Pointer SSL_get_version(long ssl);

    static native long SSL_get_current_cipher(long ssl);

    static native Pointer SSL_CIPHER_get_name(long cipher);

    static native long SSL_get1_peer_certificate(long ssl);

    static native long SSL_get_verify_result(long ssl);

    // ---- libcrypto --------------------------------------------------------------------------

    static native long BIO_s_mem();

    static native long BIO_new(long method);

    static native int BIO_free(long bio);

    static native int BIO_read(long bio, long buffer, int length);

    static native int BIO_write(long bio, long buffer, int length);

    static native long BIO_ctrl_pending(long bio);

    static native long BIO_new_file(String name, String mode);

    static native long PEM_read_bio_X509_CRL(long bio, long into, long callback, long userdata);

    static native int X509_STORE_add_crl(long store, long crl);

    static native int X509_STORE_set_flags(long store, long flags);

    static native void X509_CRL_free(long crl);

    static native int i2d_X509(long x509, Pointer out);

    static native void X509_free(long x509);

    static native Pointer X509_verify_cert_error_string(long error);

    static native void ERR_clear_error();

    static native long ERR_get_error();

    static native void ERR_error_string_n(long error, byte[] buffer, long length);
}
