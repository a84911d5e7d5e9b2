package org.nbdosgi.logging;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.Layout;

/**
 * The last lines logged, formatted, for {@code log:display}; {@link #follow} hands each new line to
 * a reader as well ({@code log:tail}). Lines come from any thread.
 */
public final class RecentLines extends AppenderBase<ILoggingEvent> {
    private final int capacity;
    private final ArrayDeque<String> lines;
    private final List<Consumer<String>> followers = new CopyOnWriteArrayList<>();
    private Layout<ILoggingEvent> layout;

    RecentLines(int capacity) {
        this.capacity = Math.max(1, capacity);
        this.lines = new ArrayDeque<>(this.capacity);
    }

    void setLayout(Layout<ILoggingEvent> layout) {
        this.layout = layout;
    }

    @Override
    protected void append(ILoggingEvent event) {
        String line = layout.doLayout(event);
        synchronized (lines) {
            if (lines.size() == capacity) {
                lines.removeFirst();
            }
            lines.addLast(line);
        }
        followers.forEach(f -> f.accept(line));
    }

    /** The last {@code n} lines (fewer if fewer were kept), oldest first, each ending in a newline. */
    public List<String> last(int n) {
        synchronized (lines) {
            List<String> all = new ArrayList<>(lines);
            return all.subList(Math.max(0, all.size() - n), all.size());
        }
    }

    /** Hands every line logged from now on to {@code reader} until the returned handle is closed. */
    public AutoCloseable follow(Consumer<String> reader) {
        followers.add(reader);
        return () -> followers.remove(reader);
    }
}
