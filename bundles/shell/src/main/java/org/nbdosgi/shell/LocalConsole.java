package org.nbdosgi.shell;

import java.io.IOException;
import java.util.Locale;
import java.util.function.Consumer;

import org.jline.reader.LineReader;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.nbdosgi.console.session.Script;
import org.nbdosgi.console.session.Shutdown;
import org.nbdosgi.logging.LogSetup;
import org.nbdosgi.logging.TerminalAppender;
import org.osgi.framework.BundleContext;
import org.slf4j.LoggerFactory;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;

/**
 * The console on the terminal nbd-osgi was started in. Log lines are printed above its prompt,
 * never over it. Ctrl-D (or exit) asks before it stops the server; "no" goes back to the prompt,
 * and a second Ctrl-D closes the console and leaves the server running. Control plane (its own
 * thread).
 */
final class LocalConsole {
    private final BundleContext context;
    private final ConsoleLoop loop;
    private volatile boolean stopping;
    private Terminal terminal;

    LocalConsole(BundleContext context, ConsoleLoop loop) {
        this.context = context;
        this.loop = loop;
    }

    void start() throws IOException {
        ClassLoader saved = Thread.currentThread().getContextClassLoader();
        // JLine finds its terminal providers through the context class loader: its own bundle's
        Thread.currentThread().setContextClassLoader(TerminalBuilder.class.getClassLoader());
        try {
            terminal = TerminalBuilder.builder().name("nbd-osgi").system(true).nativeSignals(true)
                    .signalHandler(Terminal.SignalHandler.SIG_IGN).build();
        } finally {
            Thread.currentThread().setContextClassLoader(saved);
        }
        Thread.ofPlatform().name("nbd-console").start(this::run);
    }

    void stop() {
        stopping = true;
        try {
            terminal.close();
        } catch (IOException e) {
            // the terminal is gone either way
        }
    }

    private void run() {
        TerminalAppender log = terminalAppender();
        Consumer<String>[] sink = new Consumer[1];
        try {
            loop.run(terminal, "Ctrl-D or exit asks before stopping the server", this::confirmStop, reader -> {
                sink[0] = reader::printAbove;
                if (log != null) {
                    log.printAbove(sink[0]);
                }
            });
        } catch (Exception e) {
            if (!stopping) {
                LoggerFactory.getLogger(LocalConsole.class).error("the console stopped: {}", Script.message(e));
            }
        } finally {
            if (log != null && sink[0] != null) {
                log.printBelow(sink[0]);
            }
        }
    }

    /** At Ctrl-D or exit: stop the server if the user says so. */
    private boolean confirmStop(LineReader reader) {
        if (stopping) {
            return true;
        }
        String answer = ConsoleLoop.ask(reader, "Stop nbd-osgi (every export, every client)? (yes/no): ");
        if (answer == null) {                           // Ctrl-D again, or the terminal is gone: leave the server running
            reader.getTerminal().writer().println("\nconsole closed; nbd-osgi goes on (system:shutdown from nbd-osgi-client stops it)");
            reader.getTerminal().flush();
            return true;
        }
        if (!answer.trim().toLowerCase(Locale.ROOT).matches("y|yes")) {
            return false;
        }
        stopping = true;
        Shutdown.stop(context);
        return true;
    }

    private static TerminalAppender terminalAppender() {
        if (LogSetup.loggerContext() instanceof LoggerContext c
                && c.getLogger(Logger.ROOT_LOGGER_NAME).getAppender(LogSetup.TERMINAL) instanceof TerminalAppender t) {
            return t;
        }
        return null;
    }
}
