package org.nbdosgi.engine.transport;

/**
 * Who a connection's client is, as its transport knows it. Today an address to show in logs and
 * {@code nbd:connections}; this record is where the Unix socket's peer credentials (uid, gid, pid)
 * and a TLS identity (certificate subject or PSK identity, version, cipher) will go.
 *
 * @param address {@code host:port} for TCP, {@code unix:N} (the Nth connection) for a Unix socket
 */
public record Peer(String address) {
}
