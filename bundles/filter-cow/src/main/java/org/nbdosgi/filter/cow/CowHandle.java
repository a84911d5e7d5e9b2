package org.nbdosgi.filter.cow;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Support;

/**
 * One connection's view of the export's {@link Overlay}, over its own read-only handle on the layer
 * below. Writable (unless the client is read-only) whatever the layer below says; flush and FUA have
 * nothing to persist (the overlay ends with the server), so they succeed at once, and since every
 * connection shares the overlay, multi-conn holds. Capabilities on the control plane (connect),
 * operations on the data plane.
 */
final class CowHandle extends FilterHandle {
    private final Overlay overlay;
    private final CowOptions options;
    private final boolean readOnly;

    CowHandle(Handle below, Overlay overlay, CowOptions options, boolean readOnly) {
        super(below);
        this.overlay = overlay;
        this.options = options;
        this.readOnly = readOnly;
    }

    /** The overlay block as the preferred size: smaller writes to blocks not in the overlay read the rest from below. */
    @Override
    public BlockSize blockSize() throws IOException {
        BlockSize below = next.blockSize();
        int preferred = Math.max(below.preferred(), overlay.blockSize());
        return new BlockSize(below.minimum(), preferred, Math.max(below.maximum(), preferred));
    }

    @Override
    public boolean canWrite() {
        return !readOnly;
    }

    @Override
    public boolean canFlush() {
        return true;
    }

    @Override
    public boolean canTrim() {
        return true;
    }

    @Override
    public Support canZero() {
        return Support.NATIVE;
    }

    /** Whole blocks are fast (a state change); a request with part of a block not in the overlay fails at once with ENOTSUP. */
    @Override
    public boolean canFastZero() {
        return true;
    }

    @Override
    public boolean canExtents() {
        return true;
    }

    @Override
    public Support canFua() {
        return Support.NATIVE;
    }

    @Override
    public boolean canMultiConn() {
        return true;
    }

    /** cow-on-cache: prefetch into the overlay; else whatever the layer below does with a prefetch. */
    @Override
    public Support canCache() throws IOException {
        return options.onCache() ? Support.NATIVE : next.canCache();
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        overlay.read(next, buf, offset, options.onRead());
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        overlay.write(next, buf, offset);
    }

    /** Nothing to persist: the overlay is thrown away when the server stops. */
    @Override
    public void flush(int flags) {
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        overlay.trim(offset, length);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        overlay.zero(next, offset, length, flags);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        overlay.extents(next, offset, length, flags, extents);
    }

    /** base:allocation as above; qemu:allocation-depth from the overlay's block states; other contexts from below. */
    @Override
    public void extents(String context, long offset, long length, int flags, Extents extents) throws IOException {
        if (Extents.QEMU_ALLOCATION_DEPTH.equals(context)) {
            overlay.allocationDepth(next, offset, length, flags, extents);
        } else {
            super.extents(context, offset, length, flags, extents);
        }
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        overlay.cache(next, offset, length, options.onCache());
    }
}
