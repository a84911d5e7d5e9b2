package org.nbdosgi.filter.cache;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;

/**
 * The cache's one handle on the layer below (opened outside any connection, closed by the engine
 * after the filter instance): every read, write-back, flush and block status of the cache goes
 * through it, so a flush on it covers what every connection wrote, and multi-conn holds whatever
 * the layer below offers. Requests are split at the layer's maximum payload. Capabilities are read
 * once; data plane, thread-safe as the handle below is.
 */
final class Lower {
    private final Handle handle;
    private final long size;
    private final BlockSize blockSize;
    private final int maxIo;
    private final boolean canWrite;
    private final boolean canFlush;
    private final boolean canTrim;
    private final boolean canFastZero;
    private final boolean canExtents;

    Lower(Handle handle) throws IOException {
        this.handle = handle;
        this.size = handle.size();
        this.blockSize = handle.blockSize();
        this.maxIo = Math.max(blockSize.minimum(), blockSize.maximum() / blockSize.minimum() * blockSize.minimum());
        this.canWrite = handle.canWrite();
        this.canFlush = handle.canFlush();
        this.canTrim = handle.canTrim();
        this.canFastZero = handle.canFastZero();
        this.canExtents = handle.canExtents();
    }

    Handle handle() {
        return handle;
    }

    long size() {
        return size;
    }

    BlockSize blockSize() {
        return blockSize;
    }

    boolean canWrite() {
        return canWrite;
    }

    boolean canFlush() {
        return canFlush;
    }

    boolean canTrim() {
        return canTrim;
    }

    boolean canFastZero() {
        return canFastZero;
    }

    boolean canExtents() {
        return canExtents;
    }

    /** Fills {@code buf} (position to limit) from {@code offset}; position and limit stay. */
    void read(ByteBuffer buf, long offset) throws IOException {
        int at = buf.position();
        while (at < buf.limit()) {
            int n = Math.min(maxIo, buf.limit() - at);
            handle.read(buf.slice(at, n), offset, 0);
            at += n;
            offset += n;
        }
    }

    void write(ByteBuffer buf, long offset, int flags) throws IOException {
        int at = buf.position();
        while (at < buf.limit()) {
            int n = Math.min(maxIo, buf.limit() - at);
            handle.write(buf.slice(at, n), offset, flags);
            at += n;
            offset += n;
        }
    }

    void zero(long offset, long length, int flags) throws IOException {
        handle.zero(offset, length, flags);
    }

    void trim(long offset, long length, int flags) throws IOException {
        handle.trim(offset, length, flags);
    }

    /** Flushes the layer below, when it can. */
    void flush() throws IOException {
        if (canFlush) {
            handle.flush(0);
        }
    }

    void extents(long offset, long length, int flags, Extents extents) throws IOException {
        handle.extents(offset, length, flags, extents);
    }
}
