package org.nbdosgi.engine.server;

import org.nbdosgi.engine.export.Export;

/**
 * Where a client's export name leads: the export, and the name its chain is asked to serve
 * ("" for the export itself, the rest after {@code EXPORT/} for a chain that serves several names).
 */
record Route(Export export, String innerName) {
    /** The same export, with the name its chain actually opened ("" resolved to the default export). */
    Route opened(String name) {
        return new Route(export, name);
    }

    /** The name the client should use for this export again (NBD_INFO_NAME). */
    String canonicalName() {
        if (export.catchAll() || export.name().isEmpty()) {
            return innerName.isEmpty() ? export.name() : innerName;
        }
        return innerName.isEmpty() ? export.name() : export.name() + "/" + innerName;
    }
}
