package org.nbdosgi.console.nbd;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.console.Command;

/** {@code nbd:names}: names as a value (a list), for completion (etc/gosh_profile) and scripts. */
final class NbdNames extends Command {
    private final Exports exports;

    NbdNames(Exports exports) {
        super("nbd", "names", "the names of the exports, plugins or filters (for completion and scripts)", "exports|plugins|filters");
        this.exports = exports;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        return switch (Exports.one(args, "exports|plugins|filters")) {
            case "exports" -> exports.admin().exports().stream().map(e -> quoted(e.name())).sorted().toList();
            case "plugins" -> exports.plugins().stream().map(Plugin::name).sorted().toList();
            case "filters" -> exports.filters().stream().map(Filter::name).sorted().toList();
            default -> throw new Failure("names of exports, plugins or filters");
        };
    }
}
