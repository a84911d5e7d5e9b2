package org.nbdosgi.filter.cache;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Support;

/**
 * One connection's view of a {@link BlockCache}. It holds no state of its own: the cache and its
 * handle on the layer below ({@link #next}, shared by every connection of the cache) are the
 * export's. What passes through unchanged (size, rotational, description) comes from that handle.
 * Capabilities on the control plane (connect), operations on the data plane.
 */
final class CacheHandle extends FilterHandle {
    private final BlockCache cache;
    private final CacheWrites writes;
    private final CacheMode mode;
    private final boolean readOnly;

    CacheHandle(BlockCache cache, boolean readOnly) {
        super(cache.lower.handle());
        this.cache = cache;
        this.writes = cache.writes;
        this.mode = cache.options.mode();
        this.readOnly = readOnly;
    }

    /** The layer below's minimum; the cache block as the preferred size (smaller writes read-modify-write). */
    @Override
    public BlockSize blockSize() {
        BlockSize below = cache.lower.blockSize();
        int preferred = Math.max(below.preferred(), cache.g.blockSize());
        return new BlockSize(below.minimum(), preferred, Math.max(below.maximum(), preferred));
    }

    @Override
    public boolean canWrite() {
        return !readOnly && cache.lower.canWrite();
    }

    /** Writeback needs flush to reach the layer below at all; unsafe offers it and ignores it. */
    @Override
    public boolean canFlush() {
        return mode != CacheMode.WRITETHROUGH || cache.lower.canFlush();
    }

    @Override
    public boolean canTrim() {
        return mode != CacheMode.WRITETHROUGH || cache.lower.canTrim();
    }

    @Override
    public Support canZero() {
        return Support.NATIVE;
    }

    /** Fast in the cache modes for whole blocks (others fail at once); in writethrough, as fast as below. */
    @Override
    public boolean canFastZero() {
        return mode != CacheMode.WRITETHROUGH || cache.lower.canFastZero();
    }

    @Override
    public boolean canExtents() {
        return cache.lower.canExtents();
    }

    /** FUA writes go through to the layer below with FUA (unsafe ignores it). */
    @Override
    public Support canFua() {
        return Support.NATIVE;
    }

    /**
     * Safe in every mode: all connections share one cache, and everything that reaches the layer
     * below, flushes included, goes through the cache's one handle there.
     */
    @Override
    public boolean canMultiConn() {
        return true;
    }

    @Override
    public Support canCache() {
        return Support.NATIVE;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        cache.read(buf, offset);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        writes.write(buf, offset, flags);
    }

    @Override
    public void flush(int flags) throws IOException {
        switch (mode) {
            case WRITEBACK -> cache.writeBackAndFlush();
            case WRITETHROUGH -> cache.flushBelow();
            case UNSAFE -> { }
        }
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        writes.trim(offset, length, flags);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        writes.zero(offset, length, flags);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        cache.extents(offset, length, flags, extents);
    }

    /** base:allocation as {@link #extents(long, long, int, Extents)}; qemu:allocation-depth from the cache's own states. */
    @Override
    public void extents(String context, long offset, long length, int flags, Extents extents) throws IOException {
        if (Extents.QEMU_ALLOCATION_DEPTH.equals(context)) {
            cache.allocationDepth(offset, length, flags, extents);
        } else {
            super.extents(context, offset, length, flags, extents);
        }
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        cache.prefetch(offset, length);
    }

    /** The cache outlives the connection; nothing to release. */
    @Override
    public void close() {
    }
}
