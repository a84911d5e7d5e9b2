package org.nbdosgi.console.config;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code config:cancel}. */
final class ConfigCancel extends Command {
    ConfigCancel() {
        super("config", "cancel", "drop the edit in progress", "");
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        Object e = session.get(Configurations.EDITING);
        session.put(Configurations.EDITING, null);
        out.println(e instanceof Configurations.Edit edit ? "edit of " + edit.pid() + " dropped" : "nothing was being edited");
        return null;
    }
}
