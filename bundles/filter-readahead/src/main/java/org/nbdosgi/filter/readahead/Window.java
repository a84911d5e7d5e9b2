package org.nbdosgi.filter.readahead;

/**
 * Sequential-read detection and the adaptive prefetch window of one connection. A stream starts
 * when a read begins exactly where the previous one ended; from then on a read is sequential when
 * it starts where the stream's reads have got to, give or take the current window or 16 request
 * lengths, whichever is more (a client's requests in flight at once arrive a little out of order). Each sequential read doubles the
 * window, up to {@link #MAX}; any other read resets it to {@link #MIN} and starts a new stream. From
 * the second read of a stream on, the range from the end of what was already asked for up to the
 * stream's end plus the window is returned to prefetch, so a random reader never pays for a
 * prefetch. Data plane: called by every read of the connection, under this object's lock, which is
 * held for a few comparisons and never across a wait.
 */
final class Window {
    static final long MIN = 128 * 1024;
    static final long MAX = 32L << 20;
    /** Requests of one client in flight at once may arrive this many request lengths out of order. */
    private static final long REORDER = 16;

    private long streamEnd = -1;                       // -1: no read yet
    private long ahead;
    private long window = MIN;
    private int streak;

    /** A range to prefetch, [from, to). */
    record Range(long from, long to) {
        long length() {
            return to - from;
        }
    }

    /**
     * Records a read of [offset, offset + length) on an export of {@code size} bytes; returns what
     * to prefetch now, or null.
     */
    synchronized Range read(long offset, long length, long size) {
        long end = offset + length;
        boolean sequential;
        if (streak == 0) {
            sequential = offset == streamEnd;               // a stream starts only where the last read ended
        } else {
            long slack = Math.max(window, REORDER * length);
            sequential = offset >= streamEnd - slack && offset <= Math.max(streamEnd, ahead) + slack;
        }
        if (sequential) {
            streak++;
            window = Math.min(MAX, window * 2);
            streamEnd = Math.max(streamEnd, end);
        } else {
            streak = 0;
            window = MIN;
            streamEnd = end;
            ahead = end;
        }
        if (streak == 0) {
            return null;
        }
        long from = Math.max(ahead, streamEnd);
        long to = Math.min(size, streamEnd + window);
        if (from >= to) {
            return null;
        }
        ahead = to;
        return new Range(from, to);
    }

    /** A prefetch that could not be sent: its range is asked for again by a later read. */
    synchronized void giveBack(Range r) {
        if (ahead == r.to()) {
            ahead = r.from();
        }
    }

    synchronized long window() {
        return window;
    }
}
