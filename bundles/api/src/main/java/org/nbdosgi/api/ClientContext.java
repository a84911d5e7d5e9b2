package org.nbdosgi.api;

/**
 * Who a {@link Handle} is opened for: the export name this layer is asked to serve (the client's
 * choice, possibly rewritten by a filter above), whether the connection is read-only, and, for
 * logs, the client's address and the engine's connection number (0 for handles a filter opens
 * for itself, outside any connection), and what the server knows of the client ({@link Peer}:
 * address, Unix socket credentials, TLS identity).
 */
public record ClientContext(String exportName, boolean readOnly, String clientAddress, long connectionId, Peer peer) {
    public ClientContext {
        java.util.Objects.requireNonNull(exportName, "exportName");
        peer = peer == null ? Peer.NONE : peer;
    }

    /** A context without peer information (a handle the server or a filter opens for itself). */
    public ClientContext(String exportName, boolean readOnly, String clientAddress, long connectionId) {
        this(exportName, readOnly, clientAddress, connectionId, Peer.NONE);
    }

    public ClientContext withExportName(String name) {
        return new ClientContext(name, readOnly, clientAddress, connectionId, peer);
    }

    public ClientContext withReadOnly(boolean ro) {
        return new ClientContext(exportName, ro, clientAddress, connectionId, peer);
    }
}
