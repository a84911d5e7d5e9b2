package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.console.Command;

/** {@code nbd:filter-insert}: a rewire of a live export. */
final class NbdFilterInsert extends Command {
    private final Exports exports;

    NbdFilterInsert(Exports exports) {
        super("nbd", "filter-insert", "insert a filter into a live export",
                "[--position N] [--force] NAME FILTER [key=value]...\n"
                        + "  N counts from the outside: 0 (the default) puts it outermost");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        String position = option(args, "--position");
        boolean force = flag(args, "--force");
        noMoreOptions(args);
        if (args.size() < 2) {
            throw new Failure("usage: nbd:filter-insert [--position N] [--force] NAME FILTER [key=value]...");
        }
        ExportInfo e = exports.export(Exports.exportName(args.get(0)));
        int at;
        try {
            at = position == null ? 0 : Integer.parseInt(position);
        } catch (NumberFormatException x) {
            throw new Failure("--position: '" + position + "' is not a number");
        }
        ExportSpec next = Specs.insertFilter(e.spec(), args.get(1), at, Specs.params(args.subList(2, args.size())));
        exports.rewire(e, next, force, out);
        return null;
    }
}
