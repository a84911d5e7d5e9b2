package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Capabilities;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.common.buffers.Zeros;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What sits between two layers (and on top of the chain) for one connection: the layer's
 * {@link Capabilities}, asked once when the handle opens and cached; bounds and permission checks;
 * and the emulation of zero (by writing zeros), FUA (by a flush) and cache (by a read) where the
 * layer asks for it ({@link Support#EMULATE}), as nbdkit does above its plugin. What it emulates it
 * offers upwards as {@link Support#NATIVE}, so emulation happens once, directly above the layer
 * that asked (the plugin, unless a filter asks for itself), and every filter above sees the
 * request the client sent. A plugin bug (RuntimeException) becomes EIO here, logged with the
 * layer's name. Data plane, except construction and {@link #close()}.
 */
public final class Boundary implements Handle {
    private static final Logger LOG = LoggerFactory.getLogger(Boundary.class);

    private final Handle raw;
    private final String layer;
    private final BufferPool pool;
    /** What the layer does itself, read-only masked: how this boundary forwards or emulates. */
    private final Capabilities own;
    /** Set by the first close: a handle a reopen closed may be closed again with its connection. */
    private final AtomicBoolean closed = new AtomicBoolean();
    /** What this boundary offers upwards: the layer's, with what it emulates as native. */
    private final Capabilities offered;
    private final long size;
    private final boolean blocksInKernel;

    /**
     * Asks {@code raw} for its capabilities. Control plane (connection open). On failure the caller
     * still owns {@code raw} and must close it.
     */
    public Boundary(Handle raw, String layer, boolean readOnly, BufferPool pool) throws IOException {
        this.raw = raw;
        this.layer = layer;
        this.pool = pool;
        try {
            this.own = normalized(raw.capabilities(), readOnly);
        } catch (RuntimeException e) {
            throw bug("open", e);
        }
        if (own.size() < 0) {
            throw new NbdException(NbdError.EIO, layer + ": negative size " + own.size());
        }
        this.size = own.size();
        try {
            this.blocksInKernel = raw.blocksInKernel();
        } catch (RuntimeException e) {
            throw bug("open", e);
        }
        this.offered = new Capabilities(size, own.blockSize(), own.write(), own.flush(), own.trim(), native_(own.zero()),
                own.fastZero(), native_(own.fua()), own.multiConn(), native_(own.cache()), own.extents(), own.rotational(),
                own.nonBlocking(), own.description());
    }

    /**
     * The layer's answer made consistent: nothing that writes without write (or with the export or
     * client read-only), trim only with write, FUA emulated only with a flush to emulate it by, fast
     * zero only with some zero.
     */
    private static Capabilities normalized(Capabilities c, boolean readOnly) {
        if (readOnly || !c.write()) {
            return c.readOnly();
        }
        Support fua = c.fua() == Support.EMULATE && !c.flush() ? Support.NONE : c.fua();
        return new Capabilities(c.size(), c.blockSize(), true, c.flush(), c.trim(), c.zero(),
                c.zero() != Support.NONE && c.fastZero(), fua, c.multiConn(), c.cache(), c.extents(), c.rotational(),
                c.nonBlocking(), c.description());
    }

    private static Support native_(Support s) {
        return s == Support.NONE ? Support.NONE : Support.NATIVE;
    }

    /** The layer's name, for logs. */
    public String layer() {
        return layer;
    }

    /** What this boundary offers the layer above, or the client at the top. */
    @Override
    public Capabilities capabilities() {
        return offered;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public BlockSize blockSize() {
        return offered.blockSize();
    }

    @Override
    public boolean canWrite() {
        return offered.write();
    }

    @Override
    public boolean canFlush() {
        return offered.flush();
    }

    @Override
    public boolean canTrim() {
        return offered.trim();
    }

    @Override
    public Support canZero() {
        return offered.zero();
    }

    @Override
    public boolean canFastZero() {
        return offered.fastZero();
    }

    @Override
    public boolean canExtents() {
        return offered.extents();
    }

    @Override
    public Support canFua() {
        return offered.fua();
    }

    @Override
    public boolean canMultiConn() {
        return offered.multiConn();
    }

    @Override
    public Support canCache() {
        return offered.cache();
    }

    @Override
    public boolean isRotational() {
        return offered.rotational();
    }

    @Override
    public boolean isNonBlocking() {
        return offered.nonBlocking();
    }

    @Override
    public boolean blocksInKernel() {
        return blocksInKernel;
    }

    /** The layer's answer; if it throws, the write runs on a worker, where the write itself reports what is wrong. */
    @Override
    public boolean writesToCache(long offset, long length, int flags) {
        try {
            return raw.writesToCache(offset, length, flags);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public String description() {
        return offered.description();
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

    /** The layer's answer; if it throws, the read runs on a worker, where the read itself reports what is wrong. */
    @Override
    public boolean readCached(ByteBuffer buf, long offset, int flags) throws IOException {
        checkBounds(offset, buf.remaining(), NbdError.EINVAL);
        try {
            return raw.readCached(buf, offset, flags);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The layer's views of the bytes, or null; views that do not hold exactly {@code length} bytes are a bug (EIO). */
    @Override
    public ByteBuffer[] lend(long offset, int length, int flags) throws IOException {
        checkBounds(offset, length, NbdError.EINVAL);
        try {
            ByteBuffer[] views = raw.lend(offset, length, flags);
            if (views != null) {
                long held = 0;
                for (ByteBuffer v : views) {
                    held += v.remaining();
                }
                if (held != length) {
                    throw new IllegalStateException("lent " + held + " bytes for " + length);
                }
            }
            return views;
        } catch (RuntimeException e) {
            throw bug("lend", e);
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
        if (!own.flush()) {
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
        if (!own.trim()) {
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
            if (own.zero() == Support.NATIVE) {
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
        boolean fuaAsked = Flags.has(flags, Flags.FUA) && own.fua() != Support.NONE;
        boolean flushAfter = fuaAsked && own.flush();
        int chunkFlags = fuaAsked && !flushAfter ? Flags.FUA : 0;
        while (length > 0) {
            ByteBuffer zeros = Zeros.slice((int) Math.min(length, Zeros.CHUNK));
            int n = zeros.remaining();
            raw.write(zeros, offset, chunkFlags);
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
        if (!own.extents()) {
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
    public void extents(String context, long offset, long length, int flags, Extents extents) throws IOException {
        if (Extents.BASE_ALLOCATION.equals(context)) {
            extents(offset, length, flags, extents);
            return;
        }
        checkBounds(offset, length, NbdError.EINVAL);
        try {
            raw.extents(context, offset, length, flags, extents);
        } catch (RuntimeException e) {
            throw bug("extents", e);
        }
        if (extents.covered() <= offset) {
            throw new NbdException(NbdError.EIO, layer + ": " + context + " returned nothing for offset " + offset);
        }
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        checkBounds(offset, length, NbdError.EINVAL);
        try {
            switch (own.cache()) {
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

    @Override
    public void close() throws IOException {
        if (closed.getAndSet(true)) {
            return;
        }
        try {
            raw.close();
        } catch (RuntimeException e) {
            throw bug("close", e);
        }
    }

    /** True once closed (a reopen that failed leaves closed handles in their place). */
    boolean isClosed() {
        return closed.get();
    }

    private int passFua(int flags) {
        return own.fua() == Support.NATIVE ? flags : flags & ~Flags.FUA;
    }

    private void flushIfEmulatedFua(int flags) throws IOException {
        if (Flags.has(flags, Flags.FUA) && own.fua() == Support.EMULATE) {
            raw.flush(0);
        }
    }

    private void checkWritable() throws NbdException {
        if (!own.write()) {
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
