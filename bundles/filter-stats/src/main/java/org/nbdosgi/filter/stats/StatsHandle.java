package org.nbdosgi.filter.stats;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Handle;

/**
 * One connection's view: every operation goes to the layer below, and when it succeeds its length,
 * offset and the time it took are counted. What is counted is what the client asked for (a zero as
 * a zero): the engine emulates what the plugin lacks below every filter. Data plane, except open
 * and close.
 */
final class StatsHandle extends FilterHandle {
    private final Counters counters;
    /** The client identity's counters (statsbyidentity), or null. */
    private final Counters identity;

    StatsHandle(Handle next, Counters counters, Counters identity) {
        super(next);
        this.counters = counters;
        this.identity = identity;
    }

    /** Counting never waits: as the layer below. */
    @Override
    public boolean isNonBlocking() throws IOException {
        return next.isNonBlocking();
    }

    /** Counting adds no wait: the requests run where the layer below wants them. */
    @Override
    public boolean blocksInKernel() throws IOException {
        return next.blocksInKernel();
    }

    /** Counting adds no wait: a write that lands in the page cache below still does. */
    @Override
    public boolean writesToCache(long offset, long length, int flags) throws IOException {
        return next.writesToCache(offset, length, flags);
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        int length = buf.remaining();
        long start = System.nanoTime();
        next.read(buf, offset, flags);
        count(Op.READ, offset, length, start);
    }

    /** Counted as a read when it reads: one that must wait is counted when the read itself runs. */
    @Override
    public boolean readCached(ByteBuffer buf, long offset, int flags) throws IOException {
        int length = buf.remaining();
        long start = System.nanoTime();
        if (!next.readCached(buf, offset, flags)) {
            return false;
        }
        count(Op.READ, offset, length, start);
        return true;
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        int length = buf.remaining();
        long start = System.nanoTime();
        next.write(buf, offset, flags);
        count(Op.WRITE, offset, length, start);
    }

    @Override
    public void flush(int flags) throws IOException {
        long start = System.nanoTime();
        next.flush(flags);
        count(Op.FLUSH, 0, 0, start);
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        long start = System.nanoTime();
        next.trim(offset, length, flags);
        count(Op.TRIM, offset, length, start);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        long start = System.nanoTime();
        next.zero(offset, length, flags);
        count(Op.ZERO, offset, length, start);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        long start = System.nanoTime();
        next.extents(offset, length, flags, extents);
        count(Op.EXTENTS, offset, length, start);
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        long start = System.nanoTime();
        next.cache(offset, length, flags);
        count(Op.CACHE, offset, length, start);
    }

    /** Only requests that succeeded are counted, as nbdkit does. */
    private void count(Op op, long offset, long length, long start) {
        long elapsed = System.nanoTime() - start;
        counters.record(op, offset, length, elapsed);
        if (identity != null) {
            identity.record(op, offset, length, elapsed);
        }
    }
}
