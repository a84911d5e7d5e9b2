package org.nbdosgi.logging;

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

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getProperty("nbd.log.level", "info"), Level.INFO));
        context.getLogger("nbd.report").setLevel(Level.INFO);
        context.getLogger("org.apache.sshd").setLevel(Level.WARN);        // its choices of I/O and ciphers at INFO are noise
        String prefix = "nbd.log.level.";
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(prefix)) {
                context.getLogger(key.substring(prefix.length())).setLevel(Level.toLevel(System.getProperty(key), null));
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

    private static void start(ch.qos.logback.core.AppenderBase<ILoggingEvent> appender, LoggerContext context) {
        appender.setContext(context);
        appender.start();
    }
}
