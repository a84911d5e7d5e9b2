package org.nbdosgi.engine.server;

import java.util.List;

import org.nbdosgi.tls.TlsAuthorization;
import org.nbdosgi.tls.TlsServer;

/**
 * The server's TLS as in force now: the mode and the material (certificates, keys, authorization
 * file, kept current by its own watcher; null when the mode is off). Immutable: the engine swaps it whole, and a connection keeps the one it
 * started with, so its mode never changes under it (as the spec requires).
 */
record ServerTls(TlsMode mode, TlsServer material) {
    static final ServerTls OFF = new ServerTls(TlsMode.OFF, null);

    /** The authorization file's allow-list for {@code export} (empty: no rule for it). */
    List<String> rulesFor(String export) {
        return material == null ? List.of() : material.authorization().rulesFor(export);
    }

    TlsAuthorization authorization() {
        return material == null ? TlsAuthorization.NONE : material.authorization();
    }
}
