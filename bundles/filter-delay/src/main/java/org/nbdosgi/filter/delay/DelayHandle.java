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
 * One connection's view: each operation sleeps for its delay, then goes to the layer below. A zero
 * request is delayed as a zero, as the client sent it: the engine emulates what the plugin lacks
 * below every filter. Data plane, except open and close.
 */
final class DelayHandle extends FilterHandle {
    private final Delays delays;

    DelayHandle(Handle next, Delays delays) {
        super(next);
        this.delays = delays;
    }

    @Override
    public boolean canFastZero() throws IOException {
        // delay-fast-zero=false answers fast zeros itself (at once, ENOTSUP), so it can always offer them
        return next.canFastZero() || (!delays.delayFastZero() && !delays.zero().isZero() && canZero() != Support.NONE);
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
