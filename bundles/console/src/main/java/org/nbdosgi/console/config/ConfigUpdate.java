package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code config:update}: the edit goes to ConfigurationAdmin and to its file in etc/. */
final class ConfigUpdate extends Command {
    private final Configurations configurations;

    ConfigUpdate(Configurations configurations) {
        super("config", "update", "apply the edit: ConfigurationAdmin gets it (an export rewires) and its etc/ file is written", "");
        this.configurations = configurations;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        noMoreOptions(args);
        configurations.apply(Configurations.editing(session), out);
        session.put(Configurations.EDITING, null);
        return null;
    }
}
