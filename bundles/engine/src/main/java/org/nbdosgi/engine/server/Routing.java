package org.nbdosgi.engine.server;

import java.util.List;

import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.engine.protocol.Nbd;

/**
 * What a client's handshake asks the server: where an export name leads, what NBD_OPT_LIST shows,
 * and what the server offers (the command line's {@code --mask-handshake} and {@code --no-sr}).
 * Data plane.
 */
interface Routing {
    /** The export serving {@code name} and the name its chain sees, or null if none does. */
    Route route(String name);

    List<ExportEntry> listExports();

    /** The global handshake flags the greeting offers. */
    default int handshakeFlags() {
        return Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;
    }

    /** Whether NBD_OPT_STRUCTURED_REPLY is accepted. */
    default boolean structuredReplies() {
        return true;
    }
}
