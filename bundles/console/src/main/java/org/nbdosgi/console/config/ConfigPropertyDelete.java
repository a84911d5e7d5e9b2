package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code config:property-delete [-p PID] KEY}. */
final class ConfigPropertyDelete extends Command {
    private final Configurations configurations;

    ConfigPropertyDelete(Configurations configurations) {
        super("config", "property-delete", "delete a property of the configuration being edited (or of PID, applied at once)",
                "[-p PID] KEY");
        this.configurations = configurations;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        String pid = option(args, "-p");
        noMoreOptions(args);
        if (args.size() != 1) {
            throw new Failure("usage: config:property-delete [-p PID] KEY");
        }
        Configurations.Edit e = pid == null ? Configurations.editing(session) : configurations.open(pid);
        if (e.properties().remove(args.get(0)) == null) {
            throw new Failure(e.pid() + " has no property " + args.get(0));
        }
        if (pid != null) {
            configurations.apply(e, out);
        }
        return null;
    }
}
