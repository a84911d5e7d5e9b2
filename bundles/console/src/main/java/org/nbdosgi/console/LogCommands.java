package org.nbdosgi.console;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.Function;
import org.nbdosgi.logging.LogSetup;
import org.nbdosgi.logging.RecentLines;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;

/**
 * {@code log:display}, {@code log:tail}, {@code log:set}, {@code log:get}: the recent lines the
 * logging fragment keeps, and logger levels changed while the server runs (Logback's levels, live;
 * not written anywhere, so a restart brings back the launcher's). Control plane.
 */
@Component(immediate = true)
public final class LogCommands {
    private static final List<String> LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
    private final List<ServiceRegistration<Function>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext ctx) {
        for (Command c : List.of(
                command("display", "show the recent log lines", "[-n N]\n  -n N  only the last N lines (default: every line kept, "
                        + "1000 unless -Dnbd.log.lines says otherwise)", this::display),
                command("tail", "show the last log lines, then each new one as it is logged, until Ctrl-C",
                        "[-n N]\n  -n N  start with the last N lines (default 10)", this::tail),
                command("set", "set a logger's level now (ROOT when no LOGGER is named)", "LEVEL [LOGGER]\n"
                        + "  LEVEL: TRACE, DEBUG, INFO, WARN, ERROR, OFF, or DEFAULT (take the parent's; not for ROOT)\n"
                        + "  LOGGER: a logger name (a class or package name, e.g. org.nbdosgi.engine)", this::set),
                command("get", "show the level of a logger, or of ROOT and every logger with a level of its own",
                        "[LOGGER]", this::get))) {
            registrations.add(Command.register(ctx, "log", c.name(), c, null));
        }
    }

    @Deactivate
    void deactivate() {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    private static Command command(String name, String summary, String usage, Command.Body body) {
        return Command.of(name, "log:" + name, summary, usage, body);
    }

    private Object display(List<String> args, PrintStream out) {
        int n = count(args, Integer.MAX_VALUE);
        recent().last(n).forEach(out::print);
        return null;
    }

    private Object tail(List<String> args, PrintStream out) throws Exception {
        int n = count(args, 10);
        LinkedBlockingQueue<String> fresh = new LinkedBlockingQueue<>();
        RecentLines recent = recent();
        try (AutoCloseable following = recent.follow(fresh::add)) {
            recent.last(n).forEach(out::print);
            out.flush();
            while (!out.checkError()) {                  // the reader went away: stop
                String line = fresh.poll(500, TimeUnit.MILLISECONDS);   // Ctrl-C interrupts
                if (line != null) {
                    out.print(line);
                    out.flush();
                }
            }
        } catch (InterruptedException stop) {
            Thread.currentThread().interrupt();
        }
        return null;
    }

    private Object set(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
        if (args.isEmpty() || args.size() > 2) {
            throw new Command.Failure("usage: log:set LEVEL [LOGGER]");
        }
        String level = args.get(0).toUpperCase(Locale.ROOT);
        Logger logger = context().getLogger(args.size() == 2 ? args.get(1) : Logger.ROOT_LOGGER_NAME);
        boolean root = Logger.ROOT_LOGGER_NAME.equals(logger.getName());
        if (level.equals("DEFAULT")) {
            if (root) {
                throw new Command.Failure("ROOT has no parent to take a level from: give it one of " + String.join(", ", LEVELS));
            }
            logger.setLevel(null);
        } else if (LEVELS.contains(level)) {
            logger.setLevel(Level.toLevel(level));
        } else {
            throw new Command.Failure("no level '" + args.get(0) + "': one of " + String.join(", ", LEVELS) + ", DEFAULT");
        }
        out.println(logger.getName() + ": " + logger.getEffectiveLevel() + (logger.getLevel() == null ? " (from its parent)" : ""));
        return null;
    }

    private Object get(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
        if (args.size() > 1) {
            throw new Command.Failure("usage: log:get [LOGGER]");
        }
        Table t = new Table("LOGGER", "LEVEL");
        if (args.size() == 1) {
            Logger l = context().getLogger(args.get(0));
            t.row(l.getName(), l.getEffectiveLevel() + (l.getLevel() == null ? " (from its parent)" : ""));
        } else {
            for (Logger l : context().getLoggerList()) {
                if (l.getLevel() != null) {
                    t.row(l.getName(), l.getLevel());
                }
            }
        }
        out.print(t);
        return null;
    }

    private static int count(List<String> args, int otherwise) {
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

    private static LoggerContext context() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext c) {
            return c;
        }
        throw new Command.Failure("the log:* commands need Logback, and another SLF4J provider is in use");
    }

    private static RecentLines recent() {
        if (context().getLogger(Logger.ROOT_LOGGER_NAME).getAppender(LogSetup.RECENT) instanceof RecentLines r) {
            return r;
        }
        throw new Command.Failure("no recent lines are kept: a logback.configurationFile replaced nbd-osgi's logging setup");
    }
}
