package org.nbdosgi.console.log;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.nbdosgi.logging.LogSetup;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;

/**
 * {@code log:set LEVEL [LOGGER]}: at once, and kept in the configuration {@code org.nbdosgi.log}
 * ({@code etc/org.nbdosgi.log.cfg}), which {@link LogLevels} applies again at the next start
 * ({@link KeptLevels}; on the command line, for this run only).
 */
final class LogSet extends Command {
    private final KeptLevels kept;

    LogSet(KeptLevels kept) {
        super("log", "set", "set a logger's level (ROOT when no LOGGER is named), now and after a restart (etc/org.nbdosgi.log.cfg)",
                "LEVEL [LOGGER]\n"
                        + "  LEVEL: TRACE, DEBUG, INFO, WARN, ERROR, OFF, or DEFAULT (back to its level at start, usually its parent's)\n"
                        + "  LOGGER: a logger name (a class or package name, e.g. org.nbdosgi.engine)");
        this.kept = kept;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        noMoreOptions(args);
        if (args.isEmpty() || args.size() > 2) {
            throw new Failure("usage: log:set LEVEL [LOGGER]");
        }
        String level = args.get(0).toUpperCase(Locale.ROOT);
        Logger logger = Logback.context().getLogger(args.size() == 2 ? args.get(1) : Logger.ROOT_LOGGER_NAME);
        if (!level.equals("DEFAULT") && !Logback.LEVELS.contains(level)) {
            throw new Failure("no level '" + args.get(0) + "': one of " + String.join(", ", Logback.LEVELS) + ", DEFAULT");
        }
        logger.setLevel(level.equals("DEFAULT") ? LogSetup.initialLevel(logger.getName()) : Level.toLevel(level));
        Path file = kept.keep(logger.getName(), level);
        out.println(logger.getName() + ": " + logger.getEffectiveLevel() + (logger.getLevel() == null ? " (from its parent)" : "")
                + (file == null ? "" : " (kept in " + file + ")"));
        return null;
    }
}
