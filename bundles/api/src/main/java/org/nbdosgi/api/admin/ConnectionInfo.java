package org.nbdosgi.api.admin;

import java.time.Instant;

import org.nbdosgi.api.Peer;

/**
 * A snapshot of one client connection.
 *
 * @param export        the export it is attached to (null while still negotiating)
 * @param requestedName the export name the client asked for
 * @param peer          who the client is: address, Unix socket credentials, TLS version, cipher
 *                      and identity
 */
public record ConnectionInfo(long id, String clientAddress, String export, String requestedName, Instant since,
                             int inFlight, long requests, long bytesRead, long bytesWritten, Peer peer) {
    public ConnectionInfo {
        peer = peer == null ? Peer.NONE : peer;
    }

    public ConnectionInfo(long id, String clientAddress, String export, String requestedName, Instant since,
                          int inFlight, long requests, long bytesRead, long bytesWritten) {
        this(id, clientAddress, export, requestedName, since, inFlight, requests, bytesRead, bytesWritten, Peer.NONE);
    }
}
