package org.nbdosgi.engine.server;

import java.util.List;
import java.util.function.Predicate;

import org.nbdosgi.api.ExportEntry;

/**
 * What a client's handshake asks the server: where an export name leads, what NBD_OPT_LIST shows,
 * the TLS in force and who may use an export. Data plane.
 */
interface Routing {
    /** The export serving {@code name} and the name its chain sees, or null if none does. */
    Route route(String name);

    /** The list entries of the exports whose names pass {@code visible}. */
    List<ExportEntry> listExports(Predicate<String> visible);

    /** The TLS mode and material for a connection starting now. */
    ServerTls tls();

    /**
     * The client identities allowed on the export named {@code export} (the authorization file's
     * rules for it and for every export, and its own {@code tls.allow}); empty when any client may.
     */
    List<String> allowed(String export);
}
