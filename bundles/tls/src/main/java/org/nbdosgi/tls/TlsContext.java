package org.nbdosgi.tls;

import org.nbdosgi.tls.openssl.OpenSslContext;

/**
 * Loaded TLS material for one role (server or client), from which connections start. Engines keep
 * what they need alive, so a context may be closed (replaced by newer material) while connections
 * made from it go on.
 */
public interface TlsContext extends AutoCloseable {
    /** Loads {@code credentials} into the TLS library (OpenSSL). Control plane: reads files. */
    static TlsContext open(Credentials credentials) throws TlsException {
        return OpenSslContext.open(credentials);
    }

    TlsEngine newEngine() throws TlsException;

    @Override
    void close();
}
