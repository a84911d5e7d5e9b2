package org.nbdosgi.filter.stats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/**
 * The layer below the filter in unit tests: a small RAM disk; reads at {@link #BAD_OFFSET} fail with
 * EIO. Zero and cache are native, as the engine offers every filter what the plugin lacks.
 */
final class RamDisk implements Layer {
    static final long BAD_OFFSET = 4L << 20;
    static final ClientContext CLIENT = new ClientContext("", false, "test", 1);

    private final ByteBuffer data = ByteBuffer.allocateDirect(8 << 20);
    @Override
    public Handle open(ClientContext client) {
        return new Handle() {
            @Override
            public long size() {
                return data.capacity();
            }

            @Override
            public boolean canWrite() {
                return true;
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

            @Override
            public Support canCache() {
                return Support.NATIVE;
            }

            @Override
            public boolean canExtents() {
                return true;
            }

            @Override
            public void read(ByteBuffer buf, long offset, int flags) throws IOException {
                if (offset == BAD_OFFSET) {
                    throw new NbdException(NbdError.EIO, "bad sector");
                }
                buf.duplicate().put(data.slice((int) offset, buf.remaining()));
            }

            @Override
            public void write(ByteBuffer buf, long offset, int flags) {
                data.put((int) offset, buf, buf.position(), buf.remaining());
            }

            @Override
            public void flush(int flags) {
            }

            @Override
            public void trim(long offset, long length, int flags) {
            }

            @Override
            public void zero(long offset, long length, int flags) {
                data.put((int) offset, new byte[(int) length]);
            }

            @Override
            public void extents(long offset, long length, int flags, Extents extents) throws IOException {
                extents.add(offset, length, 0);
            }
        };
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnly) {
        return List.of();
    }

    @Override
    public String defaultExport() {
        return "";
    }
}
