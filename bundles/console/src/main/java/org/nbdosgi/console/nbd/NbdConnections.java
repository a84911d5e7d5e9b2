package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Peer;
import org.nbdosgi.api.admin.ConnectionInfo;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/** {@code nbd:connections}. */
final class NbdConnections extends Command {
    private final Exports exports;

    NbdConnections(Exports exports) {
        super("nbd", "connections", "list the client connections",
                "\n  IN-FLIGHT: requests being served now; READ, WRITTEN: payload bytes"
                        + "\n  TLS, CIPHER: the TLS version and cipher suite (- without TLS)"
                        + "\n  IDENTITY: psk:NAME, or the certificate's subject:DN (anonymous: TLS without credentials)");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        Table t = new Table("ID", "CLIENT", "EXPORT", "ASKED-FOR", "AGE", "IN-FLIGHT", "REQUESTS", "READ", "WRITTEN",
                "TLS", "CIPHER", "IDENTITY");
        Instant now = Instant.now();
        for (ConnectionInfo c : exports.admin().connections()) {
            Peer p = c.peer();
            t.row(c.id(), c.clientAddress(), c.export() == null ? "(negotiating)" : quoted(c.export()),
                    c.requestedName() == null ? "-" : quoted(c.requestedName()),
                    Duration.between(c.since(), now).toSeconds() + "s", c.inFlight(), c.requests(), c.bytesRead(), c.bytesWritten(),
                    p.tlsVersion() == null ? "-" : p.tlsVersion(), p.tlsCipher() == null ? "-" : p.tlsCipher(),
                    p.tlsIdentity() != null ? p.tlsIdentity() : p.tlsVersion() != null ? "anonymous" : "-");
        }
        out.print(t);
        return null;
    }
}
