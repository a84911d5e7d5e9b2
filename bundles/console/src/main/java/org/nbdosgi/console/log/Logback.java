package org.nbdosgi.console.log;

import java.util.List;

import org.nbdosgi.console.Command;
import org.nbdosgi.logging.LogSetup;
import org.nbdosgi.logging.RecentLines;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;

/** Logback as the logging fragment (org.nbdosgi.logging) set it up, for the log commands. */
final class Logback {
    static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    private Logback() {
    }

    /** Logback's context; null when another SLF4J provider is in use. */
    static LoggerContext contextOrNull() {
        return LogSetup.loggerContext();
    }

    static LoggerContext context() {
        LoggerContext c = contextOrNull();
        if (c == null) {
            throw new Command.Failure("the log:* commands need Logback, and another SLF4J provider is in use");
        }
        return c;
    }

    static RecentLines recent() {
        if (context().getLogger(Logger.ROOT_LOGGER_NAME).getAppender(LogSetup.RECENT) instanceof RecentLines r) {
            return r;
        }
        throw new Command.Failure("no recent lines are kept: a logback.configurationFile replaced nbd-osgi's logging setup");
    }

    /** {@code -n N} from args (and nothing else), or {@code otherwise}. */
    static int count(List<String> args, int otherwise) {
        String n = Command.option(args, "-n");
        Command.noMoreOptions(args);
        if (!args.isEmpty()) {
            throw new Command.Failure("unexpected '" + args.get(0) + "' (pipe the lines to grep to choose some)");
        }
        if (n == null) {
            return otherwise;
        }
        try {
            return Math.max(0, Integer.parseInt(n));
        } catch (NumberFormatException e) {
            throw new Command.Failure("-n: '" + n + "' is not a number");
        }
    }
}
