package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.console.Command;

/** {@code nbd:filter-remove}: a rewire of a live export, the filter's parameters removed with it. */
final class NbdFilterRemove extends Command {
    private final Exports exports;

    NbdFilterRemove(Exports exports) {
        super("nbd", "filter-remove", "remove a filter (and its parameters) from a live export", "[--force] NAME FILTER");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        boolean force = flag(args, "--force");
        noMoreOptions(args);
        if (args.size() != 2) {
            throw new Failure("usage: nbd:filter-remove [--force] NAME FILTER");
        }
        ExportInfo e = exports.export(Exports.exportName(args.get(0)));
        Filter f = exports.filter(args.get(1));
        ExportSpec next = Specs.removeFilter(e.spec(), args.get(1), f == null ? List.of() : f.parameters());
        exports.rewire(e, next, force, out);
        return null;
    }
}
