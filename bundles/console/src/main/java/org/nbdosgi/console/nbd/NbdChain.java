package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Units;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.LayerInfo;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/** {@code nbd:chain NAME}. */
final class NbdChain extends Command {
    private final Exports exports;

    NbdChain(Exports exports) {
        super("nbd", "chain", "show an export's layers, their parameters, thread model and clients", "NAME");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        ExportInfo e = exports.export(Exports.one(args, "NAME"));
        out.println("export " + quoted(e.name()) + ": " + Exports.state(e)
                + (e.size() < 0 ? "" : ", " + Units.formatSize(e.size()))
                + (e.threadModel() == null ? "" : ", thread model " + e.threadModel().displayName())
                + (e.spec().readOnly() ? ", read-only" : ""));
        Table layers = new Table("LAYER", "KIND", "NAME", "THREADS", "PARAMETERS");
        int i = 0;
        for (LayerInfo l : e.layers()) {
            layers.row(i++, l.filter() ? "filter" : "plugin", l.name(), l.threadModel().displayName(), Exports.paramsText(l.params()));
        }
        out.print(layers);
        i = 0;
        for (LayerInfo l : e.layers()) {                 // what a layer says about itself (the cbt filter's bitmaps)
            if (!l.status().isEmpty()) {
                out.println("layer " + i + " (" + l.name() + "):");
                l.status().forEach(line -> out.println("  " + line));
            }
            i++;
        }
        Table clients = new Table("CLIENT", "ADDRESS", "ASKED-FOR", "IN-FLIGHT", "REQUESTS");
        exports.admin().connections().stream().filter(c -> e.name().equals(c.export())).forEach(c -> clients.row(c.id(),
                c.clientAddress(), quoted(c.requestedName()), c.inFlight(), c.requests()));
        out.print(clients);
        return null;
    }
}
