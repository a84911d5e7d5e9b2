package org.nbdosgi.engine.transport;

import java.util.List;

/**
 * Who a connection's client is, as its transport knows it.
 *
 * @param address {@code host:port} for TCP, {@code unix:N} (the Nth connection) for a Unix socket:
 *                for logs and {@code nbd:connections}
 * @param client  what plugins and filters are told ({@link org.nbdosgi.api.Peer}): the IP address,
 *                a Unix socket's peer credentials (uid, gid, pid), and after TLS its version,
 *                cipher and the client's identity
 */
public record Peer(String address, org.nbdosgi.api.Peer client) {
    public Peer {
        client = client == null ? org.nbdosgi.api.Peer.NONE : client;
    }

    public Peer(String address) {
        this(address, org.nbdosgi.api.Peer.NONE);
    }

    /** The same client after a TLS handshake. */
    public Peer withTls(String version, String cipher, List<String> identities) {
        return new Peer(address, client.withTls(version, cipher, identities));
    }
}
