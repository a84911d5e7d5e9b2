package org.nbdosgi.console.log;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

import ch.qos.logback.classic.Logger;

/** {@code log:get [LOGGER]}. */
final class LogGet extends Command {
    LogGet() {
        super("log", "get", "show the level of a logger, or of ROOT and every logger with a level of its own", "[LOGGER]");
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        if (args.size() > 1) {
            throw new Failure("usage: log:get [LOGGER]");
        }
        Table t = new Table("LOGGER", "LEVEL");
        if (args.size() == 1) {
            Logger l = Logback.context().getLogger(args.get(0));
            t.row(l.getName(), l.getEffectiveLevel() + (l.getLevel() == null ? " (from its parent)" : ""));
        } else {
            for (Logger l : Logback.context().getLoggerList()) {
                if (l.getLevel() != null) {
                    t.row(l.getName(), l.getLevel());
                }
            }
        }
        out.print(t);
        return null;
    }
}
