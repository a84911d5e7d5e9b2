package org.nbdosgi.filter.delay;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/**
 * One connection's view: each operation sleeps for its delay, then goes to the layer below.
 * Zero, FUA and cache are claimed as native whenever the layer below offers them at all (its
 * boundary emulates what it lacks), so a zero request is delayed as a zero, not as the writes the
 * engine would otherwise emulate it with above this filter. Data plane, except open and close.
 */
final class DelayHandle extends FilterHandle {
    private final Delays delays;

    DelayHandle(Handle next, Delays delays) {
        super(next);
        this.delays = delays;
    }

    @Override
    public Support canZero() throws IOException {
        return next.canZero() == Support.NONE ? Support.NONE : Support.NATIVE;
    }

    @Override
    public boolean canFastZero() throws IOException {
        // delay-fast-zero=false answers fast zeros itself (at once, ENOTSUP), so it can always offer them
        return next.canFastZero() || (!delays.delayFastZero() && !delays.zero().isZero() && canZero() != Support.NONE);
    }

    @Override
    public Support canFua() throws IOException {
        return next.canFua() == Support.NONE ? Support.NONE : Support.NATIVE;
    }

    @Override
    public Support canCache() throws IOException {
        return next.canCache() == Support.NONE ? Support.NONE : Support.NATIVE;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        Delays.sleep(delays.read());
        next.read(buf, offset, flags);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        Delays.sleep(delays.write());
        next.write(buf, offset, flags);
    }

    @Override
    public void flush(int flags) throws IOException {
        Delays.sleep(delays.flush());
        next.flush(flags);
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        Delays.sleep(delays.trim());
        next.trim(offset, length, flags);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        if (Flags.has(flags, Flags.FAST_ZERO) && !delays.delayFastZero() && !delays.zero().isZero()) {
            throw new NbdException(NbdError.ENOTSUP, "delay: fast zero refused (delay-fast-zero=false)");
        }
        Delays.sleep(delays.zero());
        next.zero(offset, length, flags);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        Delays.sleep(delays.extents());
        next.extents(offset, length, flags, extents);
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        Delays.sleep(delays.cache());
        next.cache(offset, length, flags);
    }

    /** Control plane: the client is leaving; delay-close holds it back. */
    @Override
    public void close() throws IOException {
        Delays.sleep(delays.close());
    }
}
