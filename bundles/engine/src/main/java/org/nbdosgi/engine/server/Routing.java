package org.nbdosgi.engine.server;

import java.util.List;

import org.nbdosgi.api.ExportEntry;

/** What a client's handshake asks the server: where an export name leads, and what NBD_OPT_LIST shows. Data plane. */
interface Routing {
    /** The export serving {@code name} and the name its chain sees, or null if none does. */
    Route route(String name);

    List<ExportEntry> listExports();
}
