package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;
import org.nbdosgi.engine.protocol.BufferPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What sits between two layers (and on top of the chain) for one connection: the layer's
 * capabilities, asked once when the handle opens and cached; bounds and permission checks; and the
 * emulation of zero (by writing zeros), FUA (by a flush) and cache (by a read) where the layer lacks
 * them, as nbdkit does at each of its backends. A plugin bug (RuntimeException) becomes EIO here,
 * logged with the layer's name. Data plane, except construction and {@link #close()}.
 */
public final class Boundary implements Handle {
    private static final Logger LOG = LoggerFactory.getLogger(Boundary.class);
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final Handle raw;
    private final String layer;
    private final BufferPool pool;

    private final long size;
    private final BlockSize blockSize;
    private final boolean canWrite;
    private final boolean canFlush;
    private final boolean canTrim;
    private final Support zero;
    private final boolean fastZero;
    private final boolean canExtents;
    private final Support fua;
    private final boolean multiConn;
    private final Support cache;
    private final boolean rotational;
    private final boolean nonBlocking;
    private final String description;
    /** The handles the layers below opened for the same connection while this one opened, in order; closed after it. */
    private final List<Boundary> below;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The list this handle is kept in (the connection's, a shared list, or the handle above's {@code below}). */
    volatile List<Boundary> home;

    /**
     * Asks {@code raw} for its capabilities. Control plane (connection open). On failure the caller
     * still owns {@code raw} and must close it.
     */
    public Boundary(Handle raw, String layer, boolean readOnly, BufferPool pool) throws IOException {
        this(raw, layer, readOnly, pool, new java.util.ArrayList<>());
    }

    Boundary(Handle raw, String layer, boolean readOnly, BufferPool pool, List<Boundary> below) throws IOException {
        this.raw = raw;
        this.layer = layer;
        this.pool = pool;
        this.below = below;
        try {
            size = raw.size();
            if (size < 0) {
                throw new NbdException(NbdError.EIO, layer + ": negative size " + size);
            }
            blockSize = raw.blockSize();
            canWrite = !readOnly && raw.canWrite();
            canFlush = raw.canFlush();
            canTrim = canWrite && raw.canTrim();
            zero = canWrite ? raw.canZero() : Support.NONE;
            fastZero = zero != Support.NONE && raw.canFastZero();
            canExtents = raw.canExtents();
            Support f = canWrite ? raw.canFua() : Support.NONE;
            fua = f == Support.EMULATE && !canFlush ? Support.NONE : f;
            multiConn = raw.canMultiConn();
            cache = raw.canCache();
            rotational = raw.isRotational();
            nonBlocking = raw.isNonBlocking();
            description = raw.description();
        } catch (RuntimeException e) {
            throw bug("open", e);
        }
    }

    /** The layer's name, for logs. */
    public String layer() {
        return layer;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public BlockSize blockSize() {
        return blockSize;
    }

    @Override
    public boolean canWrite() {
        return canWrite;
    }

    @Override
    public boolean canFlush() {
        return canFlush;
    }

    @Override
    public boolean canTrim() {
        return canTrim;
    }

    @Override
    public Support canZero() {
        return zero;
    }

    @Override
    public boolean canFastZero() {
        return fastZero;
    }

    @Override
    public boolean canExtents() {
        return canExtents;
    }

    @Override
    public Support canFua() {
        return fua;
    }

    @Override
    public boolean canMultiConn() {
        return multiConn;
    }

    @Override
    public Support canCache() {
        return cache;
    }

    @Override
    public boolean isRotational() {
        return rotational;
    }

    @Override
    public boolean isNonBlocking() {
        return nonBlocking;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        checkBounds(offset, buf.remaining(), NbdError.EINVAL);
        try {
            raw.read(buf, offset, flags);
        } catch (RuntimeException e) {
            throw bug("read", e);
        }
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        checkWritable();
        checkBounds(offset, buf.remaining(), NbdError.ENOSPC);
        try {
            raw.write(buf, offset, passFua(flags));
            flushIfEmulatedFua(flags);
        } catch (RuntimeException e) {
            throw bug("write", e);
        }
    }

    @Override
    public void flush(int flags) throws IOException {
        if (!canFlush) {
            throw new NbdException(NbdError.EINVAL, layer + ": flush is not supported");
        }
        try {
            raw.flush(flags & ~Flags.FUA);
        } catch (RuntimeException e) {
            throw bug("flush", e);
        }
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        checkWritable();
        checkBounds(offset, length, NbdError.EINVAL);
        if (!canTrim) {
            return;                                          // trim is advisory: nothing to do
        }
        try {
            raw.trim(offset, length, passFua(flags));
            flushIfEmulatedFua(flags);
        } catch (RuntimeException e) {
            throw bug("trim", e);
        }
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        checkWritable();
        checkBounds(offset, length, NbdError.ENOSPC);
        boolean fast = Flags.has(flags, Flags.FAST_ZERO);
        try {
            if (zero == Support.NATIVE) {
                try {
                    raw.zero(offset, length, passFua(flags));
                    flushIfEmulatedFua(flags);
                    return;
                } catch (NbdException e) {
                    if (e.error() != NbdError.ENOTSUP || fast) {
                        throw e;
                    }
                }
            } else if (fast) {
                throw new NbdException(NbdError.ENOTSUP, layer + ": zeroing is emulated, not fast");
            }
            writeZeros(offset, length, flags);
        } catch (RuntimeException e) {
            throw bug("zero", e);
        }
    }

    /**
     * The zero emulation, also where a native zero was refused: FUA still holds, whatever the
     * layer's FUA support. One flush after the last chunk, rather than FUA on every chunk (a sync
     * per MiB); FUA on each chunk only for a layer with native FUA but no flush.
     */
    private void writeZeros(long offset, long length, int flags) throws IOException {
        boolean fuaAsked = Flags.has(flags, Flags.FUA) && fua != Support.NONE;
        boolean flushAfter = fuaAsked && canFlush;
        int chunkFlags = fuaAsked && !flushAfter ? Flags.FUA : 0;
        while (length > 0) {
            int n = (int) Math.min(length, ZERO_CHUNK);
            raw.write(ZEROS.slice(0, n), offset, chunkFlags);
            offset += n;
            length -= n;
        }
        if (flushAfter) {
            raw.flush(0);
        }
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        checkBounds(offset, length, NbdError.EINVAL);
        if (!canExtents) {
            extents.add(offset, length, 0);
            return;
        }
        try {
            raw.extents(offset, length, flags, extents);
        } catch (RuntimeException e) {
            throw bug("extents", e);
        }
        if (extents.covered() <= offset) {
            throw new NbdException(NbdError.EIO, layer + ": extents returned nothing for offset " + offset);
        }
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        checkBounds(offset, length, NbdError.EINVAL);
        try {
            switch (cache) {
                case NATIVE -> raw.cache(offset, length, flags & ~Flags.FUA);
                case EMULATE -> readAndDiscard(offset, length);
                case NONE -> { }                             // advisory: nothing to do
            }
        } catch (RuntimeException e) {
            throw bug("cache", e);
        }
    }

    private void readAndDiscard(long offset, long length) throws IOException {
        int chunk = (int) Math.min(length, 4 << 20);
        ByteBuffer scratch = pool.acquire(Math.max(chunk, 1));
        try {
            while (length > 0) {
                int n = (int) Math.min(length, chunk);
                raw.read(scratch.clear().limit(n), offset, 0);
                offset += n;
                length -= n;
            }
        } finally {
            pool.release(scratch);
        }
    }

    /** Closes the layer's handle, then the handles below it (the last opened first); only the first call does anything. */
    @Override
    public void close() throws IOException {
        if (closed.getAndSet(true)) {
            return;
        }
        try {
            raw.close();
        } catch (RuntimeException e) {
            throw bug("close", e);
        } finally {
            HandleRegistry.closeAll(below);
        }
    }

    private int passFua(int flags) {
        return fua == Support.NATIVE ? flags : flags & ~Flags.FUA;
    }

    private void flushIfEmulatedFua(int flags) throws IOException {
        if (Flags.has(flags, Flags.FUA) && fua == Support.EMULATE) {
            raw.flush(0);
        }
    }

    private void checkWritable() throws NbdException {
        if (!canWrite) {
            throw new NbdException(NbdError.EPERM, "the export is read-only");
        }
    }

    private void checkBounds(long offset, long length, NbdError error) throws NbdException {
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new NbdException(error, layer + ": request " + offset + "+" + length + " beyond the end (" + size + ")");
        }
    }

    private NbdException bug(String op, RuntimeException e) {
        LOG.error("{}: {} failed with an unexpected exception", layer, op, e);
        return new NbdException(NbdError.EIO, layer + ": " + op + " failed: " + e, e);
    }
}
