package org.nbdosgi.logging;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;
import org.slf4j.helpers.SubstituteLoggerFactory;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logback's configuration, in code (no XML to parse at start): the root level from the system
 * property {@code nbd.log.level} (the launcher sets warn on the command line, info in container
 * mode, debug with -v), one logger's with {@code nbd.log.level.LOGGER=LEVEL}, loggers named
 * {@code nbd.report.*} at INFO whatever the root says, lines to
 * the process's stderr (or the file {@code nbd.log.file}) through {@link TerminalAppender}, and the
 * last {@code nbd.log.lines} (1000) lines kept by {@link RecentLines} for {@code log:display}.
 * A user's own {@code -Dlogback.configurationFile=...} takes over instead.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {
    /** The name of the stderr appender on the root logger. */
    public static final String TERMINAL = "terminal";
    /** The name of the recent-lines appender on the root logger. */
    public static final String RECENT = "recent";
    /** Lines as nbd-osgi has always printed them: time, level, the logger's short name. */
    static final String PATTERN = "%d{HH:mm:ss.SSS} [%level] %logger{0} - %msg%n%ex";
    private static final String PROPERTY_PREFIX = "nbd.log.level.";
    /** Loggers with a level of their own whatever the root's. */
    private static final Map<String, Level> FIXED = Map.of(
            "nbd.report", Level.INFO,                   // what a user asked to see (statistics at export stop)
            "org.apache.sshd", Level.WARN);             // its choices of I/O and ciphers at INFO are noise

    /**
     * The level a logger starts with: ROOT's from {@code nbd.log.level} (info unless set), another's
     * from {@code nbd.log.level.LOGGER}, else its own fixed one, else null (its parent's).
     */
    public static Level initialLevel(String logger) {
        if (Logger.ROOT_LOGGER_NAME.equalsIgnoreCase(logger)) {
            return Level.toLevel(System.getProperty("nbd.log.level", "info"), Level.INFO);
        }
        String set = System.getProperty(PROPERTY_PREFIX + logger);
        return set != null ? Level.toLevel(set, null) : FIXED.get(logger);
    }

    /**
     * Logback's context once SLF4J has started; null if another SLF4J provider is in use. While
     * one thread starts SLF4J, it hands the others a stand-in factory: wait for the real one.
     */
    public static LoggerContext loggerContext() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            ILoggerFactory factory = LoggerFactory.getILoggerFactory();
            if (factory instanceof LoggerContext context) {
                return context;
            }
            if (!(factory instanceof SubstituteLoggerFactory) || System.nanoTime() > deadline) {
                return null;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(initialLevel(Logger.ROOT_LOGGER_NAME));
        for (String name : FIXED.keySet()) {
            context.getLogger(name).setLevel(initialLevel(name));
        }
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(PROPERTY_PREFIX)) {
                String name = key.substring(PROPERTY_PREFIX.length());
                context.getLogger(name).setLevel(initialLevel(name));
            }
        }

        TerminalAppender terminal = new TerminalAppender(System.getProperty("nbd.log.file"));
        terminal.setName(TERMINAL);
        terminal.setLayout(layout(context));
        start(terminal, context);
        root.addAppender(terminal);

        RecentLines recent = new RecentLines(Integer.getInteger("nbd.log.lines", 1000));
        recent.setName(RECENT);
        recent.setLayout(layout(context));
        start(recent, context);
        root.addAppender(recent);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    private static PatternLayout layout(LoggerContext context) {
        PatternLayout layout = new PatternLayout();
        layout.setContext(context);
        layout.setPattern(PATTERN);
        layout.start();
        return layout;
    }

    private static void start(ch.qos.logback.core.Appender<ILoggingEvent> appender, LoggerContext context) {
        appender.setContext(context);
        appender.start();
    }
}
