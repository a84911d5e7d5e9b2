package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.common.libc.LibC;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * {@code cache=none}: keeps the file's data out of the page cache. Requests aligned to the direct
 * I/O block size go through the O_DIRECT descriptor (through a page-aligned bounce buffer when the
 * engine's buffer is not aligned); the rest, or everything when the file system refuses O_DIRECT,
 * go through the page cache and are dropped from it right after: reads with
 * posix_fadvise(DONTNEED), writes after waiting for their write-back (dirty pages cannot be dropped).
 * An O_DIRECT call that fails with EINVAL (the file system wants more alignment than it told, or
 * refuses O_DIRECT only when used) is redone through the page cache, and the export stops using
 * O_DIRECT.
 */
final class UncachedIo implements Io {
    private static final long PAGE = 4096;
    /** The bounce buffers: page-aligned, a MiB each. */
    private static final int BOUNCE_ALIGNMENT = 4096;
    private static final int BOUNCE_CHUNK = 1 << 20;
    private final Io buffered;
    private final NativeFd fd;
    private final boolean direct;
    private final Fallbacks fallbacks;
    private final int alignment;
    private final int memoryAlignment;
    private final BufferPool bounce;

    /**
     * @param fd        the plugin's descriptor, opened with O_DIRECT when {@code direct}
     * @param alignment the offset and length alignment O_DIRECT needs (a power of two)
     */
    UncachedIo(Io buffered, NativeFd fd, boolean direct, int alignment, Fallbacks fallbacks, BufferPool bounce) {
        this.buffered = buffered;
        this.fd = fd;
        this.direct = direct;
        this.fallbacks = fallbacks;
        this.alignment = alignment;
        this.memoryAlignment = Math.min(alignment, BOUNCE_ALIGNMENT);
        this.bounce = bounce;
    }

    /** Bounce buffers for the O_DIRECT requests of one export whose buffer is not aligned; at most 16 kept. */
    static BufferPool bounceBuffers() {
        return new BufferPool(BOUNCE_CHUNK, BOUNCE_CHUNK, 16L * BOUNCE_CHUNK, BOUNCE_ALIGNMENT);
    }

    @Override
    public void read(ByteBuffer buf, long offset) throws IOException {
        int length = buf.remaining();
        if (useDirect(offset, length)) {
            try {
                if (alignedMemory(buf)) {
                    fd.readFully(buf, offset);
                } else {
                    bouncedRead(buf, offset);
                }
                return;
            } catch (NbdException e) {
                directRefused(e);
            }
        }
        buffered.read(buf, offset);
        dropPages(offset, length);
    }

    @Override
    public void write(ByteBuffer buf, long offset) throws IOException {
        int length = buf.remaining();
        if (useDirect(offset, length)) {
            try {
                if (alignedMemory(buf)) {
                    fd.writeFully(buf, offset);
                } else {
                    bouncedWrite(buf, offset);
                }
                return;
            } catch (NbdException e) {
                directRefused(e);
            }
        }
        buffered.write(buf, offset);
        fd.writeBack(offset, length);
        dropPages(offset, length);
    }

    private boolean useDirect(long offset, int length) {
        return direct && fallbacks.directIo() && aligned(offset, length);
    }

    /** EINVAL from O_DIRECT: remember, so the caller redoes the request (it is idempotent) through the page cache. */
    private void directRefused(NbdException e) throws NbdException {
        if (e.error() != NbdError.EINVAL) {
            throw e;
        }
        fallbacks.noDirectIo();
    }

    /** DONTNEED drops only whole pages inside the range: widen it to the pages it touches. */
    private void dropPages(long offset, int length) {
        long start = offset & -PAGE;
        long end = (offset + length + PAGE - 1) & -PAGE;
        fd.advise(start, end - start, LibC.POSIX_FADV_DONTNEED);
    }

    private boolean aligned(long offset, int length) {
        return ((offset | length) & (alignment - 1)) == 0;
    }

    private boolean alignedMemory(ByteBuffer buf) {
        return buf.isDirect()
                && ((Pointer.nativeValue(Native.getDirectBufferPointer(buf)) + buf.position()) & (memoryAlignment - 1)) == 0;
    }

    private void bouncedRead(ByteBuffer buf, long offset) throws IOException {
        ByteBuffer b = bounce.acquire(BOUNCE_CHUNK);
        try {
            for (int at = buf.position(); at < buf.limit(); ) {
                int n = Math.min(buf.limit() - at, BOUNCE_CHUNK);
                fd.readFully(b.clear().limit(n), offset);
                buf.put(at, b, 0, n);
                at += n;
                offset += n;
            }
        } finally {
            bounce.release(b);
        }
    }

    private void bouncedWrite(ByteBuffer buf, long offset) throws IOException {
        ByteBuffer b = bounce.acquire(BOUNCE_CHUNK);
        try {
            for (int at = buf.position(); at < buf.limit(); ) {
                int n = Math.min(buf.limit() - at, BOUNCE_CHUNK);
                b.clear().put(0, buf, at, n);
                fd.writeFully(b.limit(n), offset);
                at += n;
                offset += n;
            }
        } finally {
            bounce.release(b);
        }
    }
}
