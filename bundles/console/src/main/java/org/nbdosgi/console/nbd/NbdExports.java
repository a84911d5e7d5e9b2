package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Units;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/** {@code nbd:exports}. */
final class NbdExports extends Command {
    private final Exports exports;

    NbdExports(Exports exports) {
        super("nbd", "exports", "list the exports: state, size, clients, thread model, chain",
                "\n  SIZE is the default export's; '-' when the export serves only names a client asks for"
                        + " (file dir=); a parked or failed export says why");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        Table t = new Table("NAME", "STATE", "SIZE", "CLIENTS", "THREADS", "CHAIN");
        for (ExportInfo e : exports.admin().exports()) {
            t.row(quoted(e.name()), Exports.state(e), e.size() < 0 ? "-" : Units.formatSize(e.size()), e.clients(),
                    e.threadModel() == null ? "-" : e.threadModel().displayName(), exports.chainText(e.spec()));
        }
        out.print(t);
        return null;
    }
}
