package org.nbdosgi.plugin.file;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The Linux calls the JDK lacks, bound to the C library by JNA direct mapping. Every call that can
 * fail declares {@link LastErrorException}, so errno is captured inside the native call itself
 * (reading it afterwards would race on virtual threads, which may change carrier in between).
 * Constants are Linux's on x86-64 and aarch64; {@link #supported()} says whether they apply here.
 */
final class LibC {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;

    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;

    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    static final int POSIX_FADV_NORMAL = 0;
    static final int POSIX_FADV_RANDOM = 1;
    static final int POSIX_FADV_SEQUENTIAL = 2;
    static final int POSIX_FADV_WILLNEED = 3;
    static final int POSIX_FADV_DONTNEED = 4;

    static final int SYNC_FILE_RANGE_WAIT_BEFORE = 1;
    static final int SYNC_FILE_RANGE_WRITE = 2;
    static final int SYNC_FILE_RANGE_WAIT_AFTER = 4;

    /** _IOR(0x12, 114, size_t): a block device's size in bytes. */
    static final long BLKGETSIZE64 = 0x80081272L;
    /** _IO(0x12, 104): logical sector size. */
    static final long BLKSSZGET = 0x1268L;
    /** _IO(0x12, 123): physical sector size. */
    static final long BLKPBSZGET = 0x127bL;

    /** preadv2 flag: return EAGAIN rather than wait for the device (data not in the page cache). */
    static final int RWF_NOWAIT = 0x08;

    static final int ENXIO = 6;
    static final int EAGAIN = 11;
    static final int EINVAL = 22;
    static final int ENOTTY = 25;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;

    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    /** Linux on an architecture whose constants are the ones above. */
    static boolean supported() {
        return Platform.isLinux() && (Platform.ARCH.equals("x86-64") || Platform.ARCH.equals("aarch64"));
    }

    /** O_DIRECT differs between architectures. */
    static int oDirect() {
        return Platform.ARCH.equals("aarch64") ? 0x10000 : 0x4000;
    }

    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native long pread(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    static native long pwrite(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    /** {@code iov}: struct iovec pairs of (address, length), 64-bit on the architectures supported. */
    static native long preadv2(int fd, long[] iov, int iovcnt, long offset, int flags) throws LastErrorException;

    static native int fdatasync(int fd) throws LastErrorException;

    static native int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    static native long lseek(int fd, long offset, int whence) throws LastErrorException;

    /** Returns the error number instead of setting errno. */
    static native int posix_fadvise(int fd, long offset, long length, int advice);

    static native int sync_file_range(int fd, long offset, long nbytes, int flags) throws LastErrorException;

    static native int ioctl(int fd, long request, Pointer result) throws LastErrorException;
}
