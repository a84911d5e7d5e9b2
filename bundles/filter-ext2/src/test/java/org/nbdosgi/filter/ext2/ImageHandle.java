package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/**
 * A plain layer below the filter for unit tests: an image file through a FileChannel, with the
 * engine's bounds and permission checks, and block status that reports every all-zero 4 KiB block
 * of the image as a hole, so a filter that passed the image's extents through would be caught.
 */
final class ImageHandle implements Handle {
    private final FileChannel channel;
    private final boolean writable;
    private final long size;
    private final ImageLayer layer;

    ImageHandle(FileChannel channel, boolean writable, ImageLayer layer) throws IOException {
        this.channel = channel;
        this.writable = writable;
        this.size = channel.size();
        this.layer = layer;
    }

    @Override
    public long size() {
        return size;
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
    public Support canZero() {
        return Support.NATIVE;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        check(offset, buf.remaining(), false);
        try {
            layer.readStarts();
            ByteBuffer b = buf.duplicate();
            while (b.hasRemaining()) {
                if (channel.read(b, offset + b.position() - buf.position()) < 0) {
                    throw new NbdException(NbdError.EIO, "short read");
                }
            }
        } finally {
            layer.readEnds();
        }
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        check(offset, buf.remaining(), true);
        layer.writes.incrementAndGet();
        ByteBuffer b = buf.duplicate();
        while (b.hasRemaining()) {
            channel.write(b, offset + b.position() - buf.position());
        }
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        check(offset, length, true);
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, 1 << 20));
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(zeros.capacity(), length - done);
            write(zeros.clear().limit(n), offset + done, 0);
            done += n;
        }
    }

    @Override
    public void flush(int flags) throws IOException {
        channel.force(false);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        ByteBuffer block = ByteBuffer.allocate(4096);
        for (long at = offset / 4096 * 4096; at < offset + length && !extents.isFull(); at += 4096) {
            int n = (int) Math.min(4096, size - at);
            read(block.clear().limit(n), at, 0);
            boolean zero = true;
            for (int i = 0; i < n && zero; i++) {
                zero = block.get(i) == 0;
            }
            extents.add(at, n, zero ? Extents.HOLE | Extents.ZERO : 0);
        }
    }

    private void check(long offset, long length, boolean write) throws NbdException {
        if (write && !writable) {
            throw new NbdException(NbdError.EPERM, "read-only");
        }
        if (offset < 0 || length < 0 || offset > size - length) {
            throw new NbdException(NbdError.EINVAL, "request " + offset + "+" + length + " beyond " + size);
        }
    }
}
