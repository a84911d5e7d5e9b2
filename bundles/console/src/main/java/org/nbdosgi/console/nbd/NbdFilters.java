package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.Comparator;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Filter;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/** {@code nbd:filters}. */
final class NbdFilters extends Command {
    private final Exports exports;

    NbdFilters(Exports exports) {
        super("nbd", "filters", "list the filters deployed now", "");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        Table t = new Table("NAME", "DESCRIPTION");
        exports.filters().stream().sorted(Comparator.comparing(Filter::name)).forEach(f -> t.row(f.name(), f.description()));
        out.print(t);
        return null;
    }
}
