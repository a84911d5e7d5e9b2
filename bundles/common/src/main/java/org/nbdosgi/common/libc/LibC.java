package org.nbdosgi.common.libc;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The one binding of the C library: the Linux calls the JDK lacks (for files, block devices and
 * holes, statx, and the poll loop of the nbd plugin), by JNA direct mapping. Embedded by the
 * bundles that use it (the file and nbd plugins, the cache filter), which then import JNA. Every
 * call that can
 * fail declares {@link LastErrorException}, so errno is captured inside the native call itself
 * (reading it afterwards would race on virtual threads, which may change carrier in between).
 * Constants are Linux's on x86-64 and aarch64; {@link #supported()} says whether they apply here.
 */
public final class LibC {
    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CLOEXEC = 0x80000;

    public static final int SEEK_DATA = 3;
    public static final int SEEK_HOLE = 4;

    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    public static final int FALLOC_FL_ZERO_RANGE = 0x10;

    public static final int POSIX_FADV_NORMAL = 0;
    public static final int POSIX_FADV_RANDOM = 1;
    public static final int POSIX_FADV_SEQUENTIAL = 2;
    public static final int POSIX_FADV_WILLNEED = 3;
    public static final int POSIX_FADV_DONTNEED = 4;

    public static final int SYNC_FILE_RANGE_WAIT_BEFORE = 1;
    public static final int SYNC_FILE_RANGE_WRITE = 2;
    public static final int SYNC_FILE_RANGE_WAIT_AFTER = 4;

    /** _IOR(0x12, 114, size_t): a block device's size in bytes. */
    public static final long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104): logical sector size. */
    public static final long BLKSSZGET = 0x1268L;
    /** _IO(0x12, 123): physical sector size. */
    public static final long BLKPBSZGET = 0x127bL;

    /** preadv2 flag: return EAGAIN rather than wait for the device (data not in the page cache). */
    public static final int RWF_NOWAIT = 0x08;

    public static final int AT_FDCWD = -100;
    public static final int STATX_BASIC_STATS = 0x7ff;
    /** struct statx: {@code __u32 stx_mask; __u32 stx_blksize; ...}, 256 bytes, the same on every architecture. */
    public static final int STATX_SIZE = 256;

    public static final short POLLIN = 0x001;
    public static final short POLLOUT = 0x004;
    public static final short POLLERR = 0x008;
    public static final short POLLHUP = 0x010;
    public static final short POLLNVAL = 0x020;
    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;
    public static final int SHUT_RDWR = 2;

    public static final int EINTR = 4;
    public static final int ENXIO = 6;
    public static final int EAGAIN = 11;
    public static final int EINVAL = 22;
    public static final int ENOTTY = 25;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;

    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    /**
     * Calls whose failure is an expected answer, not an error: they return -1 and leave errno in
     * {@link Native#getLastError()}, to be read right after the call on the same thread (nothing in
     * between parks, so a virtual thread is still on the carrier that made the call). A preadv2
     * with RWF_NOWAIT fails with EAGAIN for every read a cold file's page cache misses, and a
     * {@link LastErrorException} each time (a stack trace and a message) cost more than the call.
     */
    public static final class Quiet {
        static {
            Native.register(Quiet.class, Platform.C_LIBRARY_NAME);
        }

        private Quiet() {
        }

        /** {@code iov}: struct iovec pairs of (address, length), 64-bit on the architectures supported. */
        public static native long preadv2(int fd, long[] iov, int iovcnt, long offset, int flags);
    }

    /** Linux on an architecture whose constants are the ones above. */
    public static boolean supported() {
        return Platform.isLinux() && (Platform.ARCH.equals("x86-64") || Platform.ARCH.equals("aarch64"));
    }

    /** O_DIRECT differs between architectures. */
    public static int oDirect() {
        return Platform.ARCH.equals("aarch64") ? 0x10000 : 0x4000;
    }

    public static native int open(String path, int flags, int mode) throws LastErrorException;

    public static native int close(int fd) throws LastErrorException;

    public static native long pread(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    public static native long pwrite(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    public static native int fdatasync(int fd) throws LastErrorException;

    public static native int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    public static native long lseek(int fd, long offset, int whence) throws LastErrorException;

    /** Returns the error number instead of setting errno. */
    public static native int posix_fadvise(int fd, long offset, long length, int advice);

    public static native int sync_file_range(int fd, long offset, long nbytes, int flags) throws LastErrorException;

    public static native int ioctl(int fd, long request, Pointer result) throws LastErrorException;

    public static native int statx(int dirfd, String path, int flags, int mask, byte[] statx) throws LastErrorException;

    /** A file's st_blksize: the unit in which the file system allocates (and frees) its space. */
    public static int allocationUnit(java.nio.file.Path file) throws LastErrorException {
        byte[] b = new byte[STATX_SIZE];
        statx(AT_FDCWD, file.toString(), 0, STATX_BASIC_STATS, b);
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.nativeOrder()).getInt(4);
    }

    /** {@code fds} holds {@code nfds} of {@code struct pollfd { int fd; short events; short revents; }}. */
    public static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    public static native int eventfd(int initval, int flags) throws LastErrorException;

    public static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    public static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    public static native int shutdown(int fd, int how) throws LastErrorException;
}
