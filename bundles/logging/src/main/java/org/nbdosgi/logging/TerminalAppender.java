package org.nbdosgi.logging;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.Layout;

/**
 * Log lines to the process's own stderr (file descriptor 2, never {@code System.err}: Gogo
 * replaces that per thread, so a line logged while a console command runs would otherwise go to
 * the console client), or to a file. While an interactive console reads a line, the console
 * routes lines through {@link #printAbove} so they appear above its prompt instead of over it.
 * Lines come from any thread; one at a time.
 */
public final class TerminalAppender extends AppenderBase<ILoggingEvent> {
    private final String file;
    private Layout<ILoggingEvent> layout;
    private OutputStream out;
    private volatile Consumer<String> above;

    TerminalAppender(String file) {
        this.file = file;
    }

    void setLayout(Layout<ILoggingEvent> layout) {
        this.layout = layout;
    }

    /**
     * Sends lines to {@code sink} (a terminal's "print above the prompt") until {@link #printBelow}
     * with the same sink; null restores stderr.
     */
    public void printAbove(Consumer<String> sink) {
        above = sink;
    }

    /** Lines go to stderr again, unless another sink took over since. */
    public void printBelow(Consumer<String> sink) {
        if (above == sink) {
            above = null;
        }
    }

    @Override
    public void start() {
        try {
            out = file == null || file.isBlank() ? new FileOutputStream(FileDescriptor.err) : new FileOutputStream(file, true);
        } catch (IOException e) {
            addError("cannot open " + file, e);
            out = new FileOutputStream(FileDescriptor.err);
        }
        super.start();
    }

    @Override
    protected synchronized void append(ILoggingEvent event) {
        String line = layout.doLayout(event);
        Consumer<String> sink = above;
        if (sink != null) {
            sink.accept(line.endsWith("\n") ? line.substring(0, line.length() - 1) : line);
            return;
        }
        try {
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            // stderr closed: nothing sensible to report it to
        }
    }
}
