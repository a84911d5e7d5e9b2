package org.nbdosgi.filter.cbt;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;

/**
 * One connection's view: writes, zeros and trims go to the layer below and then mark the export's
 * bitmaps, whether or not they succeeded (a failed write may have changed some blocks); block
 * status of {@code qemu:dirty-bitmap:NAME} is answered from the bitmap. Data plane.
 */
final class CbtHandle extends FilterHandle {
    private final CbtInstance cbt;

    CbtHandle(Handle next, CbtInstance cbt) {
        super(next);
        this.cbt = cbt;
    }

    /** Marking never waits: as the layer below. */
    @Override
    public boolean isNonBlocking() throws IOException {
        return next.isNonBlocking();
    }

    /** Marking adds no wait: the requests run where the layer below wants them. */
    @Override
    public boolean blocksInKernel() throws IOException {
        return next.blocksInKernel();
    }

    /** Reads are not marked: one the page cache below holds is read at once. */
    @Override
    public boolean readCached(ByteBuffer buf, long offset, int flags) throws IOException {
        return next.readCached(buf, offset, flags);
    }

    /** Marking adds no wait: a write that lands in the page cache below still does. */
    @Override
    public boolean writesToCache(long offset, long length, int flags) throws IOException {
        return next.writesToCache(offset, length, flags);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        int length = buf.remaining();
        try {
            next.write(buf, offset, flags);
        } finally {
            cbt.mark(offset, length);
        }
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        try {
            next.zero(offset, length, flags);
        } finally {
            cbt.mark(offset, length);
        }
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        try {
            next.trim(offset, length, flags);
        } finally {
            cbt.mark(offset, length);
        }
    }

    @Override
    public void extents(String context, long offset, long length, int flags, Extents extents) throws IOException {
        DirtyBitmap bitmap = cbt.bitmapFor(context);
        if (bitmap != null) {
            bitmap.extents(offset, length, Flags.has(flags, Flags.REQ_ONE), extents);
        } else {
            super.extents(context, offset, length, flags, extents);
        }
    }
}
