package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code config:edit PID}: the session edits a copy until config:update or config:cancel. */
final class ConfigEdit extends Command {
    private final Configurations configurations;

    ConfigEdit(Configurations configurations) {
        super("config", "edit", "start editing a configuration (FACTORY~NAME for one of a factory's); "
                + "config:update applies it, config:cancel drops it", "PID\n  e.g. config:edit org.nbdosgi.export~disk");
        this.configurations = configurations;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        noMoreOptions(args);
        if (args.size() != 1) {
            throw new Failure("usage: config:edit PID (FACTORY~NAME for a factory configuration)");
        }
        Configurations.Edit e = configurations.open(args.get(0));
        session.put(Configurations.EDITING, e);
        out.println("editing " + e.pid() + (e.properties().isEmpty() ? " (new)" : "")
                + ": config:property-set, config:property-delete, then config:update (or config:cancel)");
        return null;
    }
}
