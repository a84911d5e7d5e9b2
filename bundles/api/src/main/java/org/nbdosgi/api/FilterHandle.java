package org.nbdosgi.api;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Base class for a filter's per-connection handle: every capability and operation passes through
 * to {@link #next}, the handle of the layer below, so a filter overrides only what it changes.
 * {@code next} is opened and closed by the engine; a filter never closes it.
 */
public abstract class FilterHandle implements Handle {
    protected final Handle next;

    protected FilterHandle(Handle next) {
        this.next = java.util.Objects.requireNonNull(next, "next");
    }

    @Override
    public long size() throws IOException {
        return next.size();
    }

    @Override
    public BlockSize blockSize() throws IOException {
        return next.blockSize();
    }

    @Override
    public boolean canWrite() throws IOException {
        return next.canWrite();
    }

    @Override
    public boolean canFlush() throws IOException {
        return next.canFlush();
    }

    @Override
    public boolean canTrim() throws IOException {
        return next.canTrim();
    }

    @Override
    public Support canZero() throws IOException {
        return next.canZero();
    }

    @Override
    public boolean canFastZero() throws IOException {
        return next.canFastZero();
    }

    @Override
    public boolean canExtents() throws IOException {
        return next.canExtents();
    }

    @Override
    public Support canFua() throws IOException {
        return next.canFua();
    }

    @Override
    public boolean canMultiConn() throws IOException {
        return next.canMultiConn();
    }

    @Override
    public Support canCache() throws IOException {
        return next.canCache();
    }

    @Override
    public boolean isRotational() throws IOException {
        return next.isRotational();
    }

    /**
     * False, not passed through: a filter may wait where the layer below does not. A filter that
     * never waits itself answers {@code next.isNonBlocking()}.
     */
    @Override
    public boolean isNonBlocking() throws IOException {
        return false;
    }

    /**
     * False, not passed through: a filter may wait where virtual threads cost nothing (a sleep, the
     * network), and the engine's platform workers are few. A filter that adds no wait of its own
     * answers {@code next.blocksInKernel()}.
     */
    @Override
    public boolean blocksInKernel() throws IOException {
        return false;
    }

    @Override
    public String description() throws IOException {
        return next.description();
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        next.read(buf, offset, flags);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        next.write(buf, offset, flags);
    }

    @Override
    public void flush(int flags) throws IOException {
        next.flush(flags);
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        next.trim(offset, length, flags);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        next.zero(offset, length, flags);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        next.extents(offset, length, flags, extents);
    }

    /**
     * {@link Extents#BASE_ALLOCATION} by this handle's {@link #extents(long, long, int, Extents)},
     * every other meta context by the layer below's.
     */
    @Override
    public void extents(String context, long offset, long length, int flags, Extents extents) throws IOException {
        if (Extents.BASE_ALLOCATION.equals(context)) {
            extents(offset, length, flags, extents);
        } else {
            next.extents(context, offset, length, flags, extents);
        }
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        next.cache(offset, length, flags);
    }
}
