package org.nbdosgi.plugin.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Support;

/**
 * One client connection's view of the upstream export: its capabilities as the upstream offered
 * them, and every request passed to one of the connection's upstream connections (round robin
 * when there are several, which the upstream allows by offering multi-conn). Data plane: any
 * number of request threads at once.
 */
final class NbdHandle implements Handle {
    private final List<Upstream> upstreams;
    private final Upstream.Info info;
    private final boolean writable;
    private final AtomicInteger turn = new AtomicInteger();

    NbdHandle(List<Upstream> upstreams, boolean readOnly) {
        this.upstreams = List.copyOf(upstreams);
        this.info = upstreams.get(0).info();
        this.writable = !readOnly && !info.readOnly();
    }

    private Upstream next() {
        int n = upstreams.size();
        return n == 1 ? upstreams.get(0) : upstreams.get(Math.floorMod(turn.getAndIncrement(), n));
    }

    @Override
    public long size() {
        return info.size();
    }

    @Override
    public BlockSize blockSize() {
        return info.blockSize();
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    @Override
    public boolean canFlush() {
        return info.flush();
    }

    @Override
    public boolean canTrim() {
        return info.trim();
    }

    @Override
    public Support canZero() {
        return info.zero() ? Support.NATIVE : Support.EMULATE;
    }

    @Override
    public boolean canFastZero() {
        return info.zero() && info.fastZero();
    }

    @Override
    public boolean canExtents() {
        return info.extents();
    }

    @Override
    public Support canFua() {
        return info.fua() ? Support.NATIVE : info.flush() ? Support.EMULATE : Support.NONE;
    }

    @Override
    public boolean canMultiConn() {
        return info.multiConn();
    }

    @Override
    public Support canCache() {
        return info.cache() ? Support.NATIVE : Support.NONE;
    }

    @Override
    public boolean isRotational() {
        return info.rotational();
    }

    @Override
    public String description() {
        return info.description();
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        if (!buf.hasRemaining()) {
            return;
        }
        if (buf.isDirect()) {
            next().pread(buf, offset);
            return;
        }
        ByteBuffer bounce = ByteBuffer.allocateDirect(buf.remaining());
        next().pread(bounce, offset);
        buf.duplicate().put(bounce);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        if (!buf.hasRemaining()) {
            return;
        }
        ByteBuffer direct = buf;
        if (!buf.isDirect()) {
            direct = ByteBuffer.allocateDirect(buf.remaining()).put(buf.duplicate()).flip();
        }
        next().pwrite(direct, offset, fua(flags));
    }

    @Override
    public void flush(int flags) throws IOException {
        next().flush();                        // with several connections multi-conn makes one flush cover all
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        if (length > 0) {
            next().trim(offset, length, fua(flags));
        }
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        if (length == 0) {
            return;
        }
        int f = fua(flags) | (Flags.has(flags, Flags.MAY_TRIM) ? 0 : LibNbd.CMD_FLAG_NO_HOLE)
                | (Flags.has(flags, Flags.FAST_ZERO) ? LibNbd.CMD_FLAG_FAST_ZERO : 0);
        next().zero(offset, length, f);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        next().blockStatus(offset, length, Flags.has(flags, Flags.REQ_ONE) ? LibNbd.CMD_FLAG_REQ_ONE : 0, extents);
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        if (length > 0) {
            next().cache(offset, length);
        }
    }

    private static int fua(int flags) {
        return Flags.has(flags, Flags.FUA) ? LibNbd.CMD_FLAG_FUA : 0;
    }

    /** Control plane: ends every upstream connection of this client. */
    @Override
    public void close() {
        upstreams.forEach(Upstream::close);
    }
}
