/**
 * TLS for NBD connections: {@link org.nbdosgi.tls.TlsChannel} runs TLS over a plain channel (for
 * NBD_OPT_STARTTLS), {@link org.nbdosgi.tls.TlsServer} holds the server's certificates and
 * pre-shared keys and reloads them when they change on disk, {@link org.nbdosgi.tls.TlsAuthorization}
 * says which client identities may use which export. One TLS implementation behind
 * {@link org.nbdosgi.tls.TlsEngine}: OpenSSL 3 through JNA, for X.509 and PSK alike.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("0.1.0")
package org.nbdosgi.tls;
