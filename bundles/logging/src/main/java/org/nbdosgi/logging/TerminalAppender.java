package org.nbdosgi.logging;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOError;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Layout;
import ch.qos.logback.core.UnsynchronizedAppenderBase;

/**
 * Log lines to the process's own stderr (file descriptor 2, never {@code System.err}: Gogo
 * replaces that per thread, so a line logged while a console command runs would otherwise go to
 * the console client), or to a file. While an interactive console runs, the console routes lines
 * through {@link #printAbove}: JLine's {@code LineReader.printAbove}, which checks whether the reader
 * shows a prompt and prints the line above it with a redraw, or plainly, under the reader's own lock,
 * so no line lands after a prompt it did not redraw. Consoles may overlap (a shell bundle updated
 * while the old console's thread still ends): lines go to the console that registered last, and
 * when it leaves to the one before, never to stderr while a console still reads the terminal.
 * Lines come from any thread; the appender takes no lock of its own around a console's sink (JLine
 * serializes them; a thread that logs while it holds the reader's lock, a completer, cannot deadlock
 * with one that prints), only around its own stream.
 */
public final class TerminalAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
    private final String file;
    private final Deque<Consumer<String>> above = new ConcurrentLinkedDeque<>();
    private final Lock streamLock = new ReentrantLock();
    private Layout<ILoggingEvent> layout;
    private OutputStream out;

    TerminalAppender(String file) {
        this.file = file;
    }

    void setLayout(Layout<ILoggingEvent> layout) {
        this.layout = layout;
    }

    /**
     * Sends lines to {@code sink} (a terminal's "print above the prompt", safe to call at any time)
     * until {@link #printBelow} with the same sink.
     */
    public void printAbove(Consumer<String> sink) {
        above.addLast(sink);
    }

    /** Lines go to the console that registered before {@code sink}, or to stderr when none is left. */
    public void printBelow(Consumer<String> sink) {
        above.removeLastOccurrence(sink);
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
    protected void append(ILoggingEvent event) {
        String line = layout.doLayout(event);
        Consumer<String> sink = above.peekLast();
        if (sink != null) {
            try {
                sink.accept(line.endsWith("\n") ? line.substring(0, line.length() - 1) : line);
                return;
            } catch (RuntimeException | IOError terminalGone) {
                // the console's terminal closed under it: the line goes to the stream instead
            }
        }
        streamLock.lock();
        try {
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            // stderr closed: nothing sensible to report it to
        } finally {
            streamLock.unlock();
        }
    }
}
