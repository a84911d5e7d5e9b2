package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.buffers.Zeros;

/**
 * One connection's view of an inner file. The filesystem's lock is held only to look up what is not
 * yet known of where a request's bytes live, and to allocate blocks for writes; the bytes go
 * straight between the client's buffer and this connection's own handle on the layer below, so
 * connections overlap everywhere except in libext2fs. Zero is emulated by writes and FUA by flush
 * (the engine does both); trim is not offered; block status describes the inner file, never the
 * image around it.
 *
 * <p>Data plane, except {@link #close}.
 */
final class Ext2Handle implements Handle {
    /** Most runs one block status reply describes. */
    private static final int STATUS_RUNS = 1024;

    private final Filesystem fs;
    private final InnerFile file;
    private final String path;
    private final Handle data;
    private final boolean writable;

    /**
     * @param path the file's path, for the export's description
     * @param data this connection's handle on the layer below, where the file's blocks are read and
     *             written (the engine opened it and closes it)
     */
    Ext2Handle(Filesystem fs, InnerFile file, String path, Handle data) throws IOException {
        this.fs = fs;
        this.file = file;
        this.path = path;
        this.data = data;
        this.writable = fs.writable() && data.canWrite();
    }

    @Override
    public long size() {
        return file.size();
    }

    @Override
    public BlockSize blockSize() throws IOException {
        return data.blockSize().combine(new BlockSize(1, Math.max(512, fs.blockSize()), BlockSize.MAX_PAYLOAD));
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    @Override
    public boolean canFlush() {
        return true;
    }

    @Override
    public boolean canExtents() {
        return true;
    }

    @Override
    public boolean isRotational() throws IOException {
        return data.isRotational();
    }

    /** Names the file, and the layer below's own description if it has one. */
    @Override
    public String description() throws IOException {
        String below = data.description();
        return path + " inside an ext2/3/4 filesystem" + (below == null ? "" : ": " + below);
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        int length = buf.remaining();
        if (length == 0) {
            return;
        }
        List<Run> runs = file.locate(offset, length);
        int base = buf.position();
        long done = 0;
        for (Run r : runs) {
            ByteBuffer part = buf.slice(base + (int) (r.offset() - offset), (int) r.length());
            if (r.kind() == Run.Kind.DATA) {
                data.read(part, r.physical(), 0);
            } else {
                Zeros.fill(part, 0, part.limit());
            }
            done += r.length();
        }
        requireAll(done, length, offset);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        if (!writable) {
            // the data handle below may take writes even when the filesystem was opened read-only
            throw new NbdException(NbdError.EPERM, "the filesystem is open read-only");
        }
        int length = buf.remaining();
        if (length == 0) {
            return;
        }
        List<Run> runs = file.locateForWrite(offset, length);
        int base = buf.position();
        long done = 0;
        for (Run r : runs) {
            data.write(buf.slice(base + (int) (r.offset() - offset), (int) r.length()), r.physical(), 0);
            done += r.length();
        }
        requireAll(done, length, offset);
    }

    /** This connection's writes to the layer below first, then the filesystem's own changes. */
    @Override
    public void flush(int flags) throws IOException {
        if (data.canFlush()) {
            data.flush(0);
        }
        fs.flush();
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        List<Run> runs = file.describe(offset, length, Flags.has(flags, Flags.REQ_ONE) ? 1 : STATUS_RUNS);
        for (Run r : runs) {
            int type = switch (r.kind()) {
                case DATA -> 0;
                case UNWRITTEN -> Extents.ZERO;
                case HOLE -> Extents.HOLE | Extents.ZERO;
            };
            extents.add(r.offset(), r.length(), type);
        }
    }

    @Override
    public void close() throws IOException {
        fs.release(file);
    }

    private void requireAll(long done, int length, long offset) throws NbdException {
        if (done != length) {
            throw new NbdException(NbdError.EIO, "inode " + file.inodeNumber() + ": the block map covers " + done
                    + " of the " + length + " bytes at " + offset);
        }
    }
}
