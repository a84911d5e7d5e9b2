package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.libc.LibC;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * A file descriptor opened through the C library, for what the JDK cannot do: O_DIRECT, fallocate
 * modes, SEEK_DATA/SEEK_HOLE, posix_fadvise, block device ioctls. errno becomes an
 * {@link NbdException} with the nearest NBD error. {@link #open} and {@link #close} run on the
 * control plane, the rest on the data plane, from any number of threads at once (the kernel orders
 * what needs ordering; this class keeps no state beyond the descriptor).
 */
final class NativeFd implements AutoCloseable {
    /** What a fallocate call achieved. */
    enum Outcome {
        DONE,
        /** The file system or device does not implement this mode: no point trying again. */
        UNSUPPORTED,
        /** Not for this range (an unaligned range on a block device): another way may still work. */
        REFUSED
    }

    /** A failed open, with its errno for the caller to explain. */
    static final class OpenException extends IOException {
        private static final long serialVersionUID = 1L;
        private final int errno;

        OpenException(int errno, String message) {
            super(message);
            this.errno = errno;
        }

        int errno() {
            return errno;
        }
    }

    private final int fd;
    private final Path path;

    private NativeFd(int fd, Path path) {
        this.fd = fd;
        this.path = path;
    }

    static NativeFd open(Path path, boolean writable, boolean direct) throws OpenException {
        int flags = (writable ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC | (direct ? LibC.oDirect() : 0);
        try {
            return new NativeFd(LibC.open(path.toString(), flags, 0), path);
        } catch (LastErrorException e) {
            throw new OpenException(e.getErrorCode(), path + ": open failed: errno " + e.getErrorCode());
        }
    }

    /** Reads exactly {@code buf.remaining()} bytes at {@code offset}; position and limit stay. */
    void readFully(ByteBuffer buf, long offset) throws NbdException {
        Pointer base = Native.getDirectBufferPointer(buf);
        int at = buf.position();
        int end = buf.limit();
        try {
            while (at < end) {
                long n = LibC.pread(fd, base.share(at), end - at, offset);
                if (n == 0) {
                    throw new NbdException(NbdError.EIO, path + ": end of file at " + offset
                            + ": the file is shorter than the export (truncated while served?)");
                }
                at += (int) n;
                offset += n;
            }
        } catch (LastErrorException e) {
            throw error("read", e);
        }
    }

    /**
     * Reads from {@code offset} what the page cache holds, without waiting for the device
     * (preadv2 with RWF_NOWAIT): the number of bytes read, from {@code buf}'s position on, which
     * may be fewer than asked (0 when the first page is not cached); -1 if the kernel or file system
     * cannot do it. Position and limit stay.
     */
    int readCached(ByteBuffer buf, long offset) throws NbdException {
        long address = Pointer.nativeValue(Native.getDirectBufferPointer(buf));
        int at = buf.position();
        int end = buf.limit();
        long[] iov = new long[2];
        while (at < end) {
            iov[0] = address + at;
            iov[1] = end - at;
            long n = LibC.Quiet.preadv2(fd, iov, 1, offset, LibC.RWF_NOWAIT);
            if (n < 0) {
                int errno = Native.getLastError();
                switch (errno) {
                    case LibC.EAGAIN -> {
                        return at - buf.position();
                    }
                    case LibC.EOPNOTSUPP, LibC.ENOSYS, LibC.EINVAL -> {
                        return -1;
                    }
                    default -> throw error("read", new LastErrorException(errno));
                }
            }
            if (n == 0) {
                break;                                           // end of file: the caller's read says so
            }
            at += (int) n;
            offset += n;
        }
        return at - buf.position();
    }

    /** Writes exactly {@code buf.remaining()} bytes at {@code offset}; position and limit stay. */
    void writeFully(ByteBuffer buf, long offset) throws NbdException {
        Pointer base = Native.getDirectBufferPointer(buf);
        int at = buf.position();
        int end = buf.limit();
        try {
            while (at < end) {
                long n = LibC.pwrite(fd, base.share(at), end - at, offset);
                if (n == 0) {
                    throw new NbdException(NbdError.EIO, path + ": write at " + offset + " wrote nothing");
                }
                at += (int) n;
                offset += n;
            }
        } catch (LastErrorException e) {
            throw error("write", e);
        }
    }

    Outcome fallocate(int mode, long offset, long length) throws NbdException {
        try {
            LibC.fallocate(fd, mode, offset, length);
            return Outcome.DONE;
        } catch (LastErrorException e) {
            return switch (e.getErrorCode()) {
                case LibC.EOPNOTSUPP, LibC.ENOSYS, 19 /* ENODEV */ -> Outcome.UNSUPPORTED;
                case LibC.EINVAL -> Outcome.REFUSED;
                default -> throw error("fallocate", e);
            };
        }
    }

    /** The next offset at or after {@code offset} holding data, or -1 when only a hole follows. */
    long seekData(long offset) throws NbdException {
        return seek(offset, LibC.SEEK_DATA);
    }

    /** The next hole at or after {@code offset} (the end of the file counts as one), or -1 past the end. */
    long seekHole(long offset) throws NbdException {
        return seek(offset, LibC.SEEK_HOLE);
    }

    private long seek(long offset, int whence) throws NbdException {
        try {
            return LibC.lseek(fd, offset, whence);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LibC.ENXIO) {
                return -1;
            }
            throw error("lseek", e);
        }
    }

    /** posix_fadvise; advice is a hint, so a failure is only returned (the errno, 0 for none), never thrown. */
    int advise(long offset, long length, int advice) {
        return LibC.posix_fadvise(fd, offset, length, advice);
    }

    /** Starts and waits for write-back of a range, so its pages are clean and can be dropped. */
    void writeBack(long offset, long length) throws NbdException {
        try {
            LibC.sync_file_range(fd, offset, length, LibC.SYNC_FILE_RANGE_WAIT_BEFORE | LibC.SYNC_FILE_RANGE_WRITE
                    | LibC.SYNC_FILE_RANGE_WAIT_AFTER);
        } catch (LastErrorException e) {
            throw error("sync_file_range", e);
        }
    }

    void fdatasync() throws NbdException {
        try {
            LibC.fdatasync(fd);
        } catch (LastErrorException e) {
            throw error("fdatasync", e);
        }
    }

    /** A block device ioctl that returns a 64-bit value (sizes) or a 32-bit one (sector sizes). */
    long ioctl(long request, boolean wide) throws NbdException {
        try (Memory out = new Memory(8)) {
            out.setLong(0, 0);
            LibC.ioctl(fd, request, out);
            return wide ? out.getLong(0) : out.getInt(0);
        } catch (LastErrorException e) {
            throw error("ioctl", e);
        }
    }

    @Override
    public void close() throws NbdException {
        try {
            LibC.close(fd);
        } catch (LastErrorException e) {
            throw error("close", e);
        }
    }

    private NbdException error(String call, LastErrorException e) {
        int errno = e.getErrorCode();
        return new NbdException(NbdError.fromErrno(errno), path + ": " + call + " failed: " + Errno.describe(errno), e);
    }
}
