package org.nbdosgi.api;

/**
 * Who a {@link Handle} is opened for: the export name this layer is asked to serve (the client's
 * choice, possibly rewritten by a filter above), whether the connection is read-only, and, for
 * logs, the client's address and the engine's connection number (0 for handles a filter opens
 * for itself, outside any connection).
 */
public record ClientContext(String exportName, boolean readOnly, String clientAddress, long connectionId) {
    public ClientContext {
        java.util.Objects.requireNonNull(exportName, "exportName");
    }

    public ClientContext withExportName(String name) {
        return new ClientContext(name, readOnly, clientAddress, connectionId);
    }

    public ClientContext withReadOnly(boolean ro) {
        return new ClientContext(exportName, ro, clientAddress, connectionId);
    }
}
