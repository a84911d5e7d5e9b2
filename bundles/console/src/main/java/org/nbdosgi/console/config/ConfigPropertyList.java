package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code config:property-list [-p PID]}. */
final class ConfigPropertyList extends Command {
    private final Configurations configurations;

    ConfigPropertyList(Configurations configurations) {
        super("config", "property-list", "list the properties of the configuration being edited (or of PID)", "[-p PID]");
        this.configurations = configurations;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        String pid = option(args, "-p");
        noMoreOptions(args);
        Configurations.Edit e = pid == null ? Configurations.editing(session) : configurations.open(pid);
        Configurations.print(e.properties(), out);
        return null;
    }
}
