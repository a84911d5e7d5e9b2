package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code config:property-set [-p PID] KEY VALUE}. */
final class ConfigPropertySet extends Command {
    private final Configurations configurations;

    ConfigPropertySet(Configurations configurations) {
        super("config", "property-set", "set a property of the configuration being edited (or of PID, applied at once)",
                "[-p PID] KEY VALUE");
        this.configurations = configurations;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        String pid = option(args, "-p");
        noMoreOptions(args);
        if (args.size() != 2) {
            throw new Failure("usage: config:property-set [-p PID] KEY VALUE");
        }
        Configurations.Edit e = pid == null ? Configurations.editing(session) : configurations.open(pid);
        e.properties().put(args.get(0), args.get(1));
        if (pid != null) {
            configurations.apply(e, out);
        }
        return null;
    }
}
