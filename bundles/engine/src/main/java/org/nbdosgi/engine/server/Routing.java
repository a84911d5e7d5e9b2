package org.nbdosgi.engine.server;

import java.util.List;
import java.util.function.Predicate;

import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.engine.protocol.Nbd;

/**
 * What a client's handshake asks the server: where an export name leads, what NBD_OPT_LIST shows,
 * what the server offers (the command line's {@code --mask-handshake} and {@code --no-sr}), the TLS
 * in force and who may use an export. Data plane.
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

    /** The global handshake flags the greeting offers. */
    default int handshakeFlags() {
        return Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;
    }

    /** Whether NBD_OPT_STRUCTURED_REPLY is accepted. */
    default boolean structuredReplies() {
        return true;
    }
}
