package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.Comparator;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/** {@code nbd:plugins}. */
final class NbdPlugins extends Command {
    private final Exports exports;

    NbdPlugins(Exports exports) {
        super("nbd", "plugins", "list the plugins (storage back ends) deployed now", "");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        Table t = new Table("NAME", "DESCRIPTION");
        exports.plugins().stream().sorted(Comparator.comparing(Plugin::name)).forEach(p -> t.row(p.name(), p.description()));
        out.print(t);
        return null;
    }
}
