package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.ConnectionInfo;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/** {@code nbd:connections}. */
final class NbdConnections extends Command {
    private final Exports exports;

    NbdConnections(Exports exports) {
        super("nbd", "connections", "list the client connections",
                "\n  IN-FLIGHT: requests being served now; READ, WRITTEN: payload bytes");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        Table t = new Table("ID", "CLIENT", "EXPORT", "ASKED-FOR", "AGE", "IN-FLIGHT", "REQUESTS", "READ", "WRITTEN");
        Instant now = Instant.now();
        for (ConnectionInfo c : exports.admin().connections()) {
            t.row(c.id(), c.clientAddress(), c.export() == null ? "(negotiating)" : quoted(c.export()),
                    c.requestedName() == null ? "-" : quoted(c.requestedName()),
                    Duration.between(c.since(), now).toSeconds() + "s", c.inFlight(), c.requests(), c.bytesRead(), c.bytesWritten());
        }
        out.print(t);
        return null;
    }
}
