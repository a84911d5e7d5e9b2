package org.nbdosgi.filter.cache;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The C library calls the JDK lacks for the cache file, by JNA direct mapping: a descriptor for
 * fallocate, to punch reclaimed blocks out of the file, and statx for the unit the file system
 * allocates a file's space in. errno is captured inside each call
 * ({@link LastErrorException}). Constants are Linux's (x86-64 and aarch64).
 */
final class LibC {
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    /** Linux on an architecture whose constants are the ones above. */
    static boolean supported() {
        return Platform.isLinux() && (Platform.ARCH.equals("x86-64") || Platform.ARCH.equals("aarch64"));
    }

    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    static final int AT_FDCWD = -100;
    static final int STATX_BASIC_STATS = 0x7ff;
    /** struct statx: {@code __u32 stx_mask; __u32 stx_blksize; ...}, 256 bytes, the same on every architecture. */
    static final int STATX_SIZE = 256;

    static native int statx(int dirfd, String path, int flags, int mask, byte[] statx) throws LastErrorException;

    /** A file's st_blksize: the unit in which the file system allocates (and frees) its space. */
    static int allocationUnit(java.nio.file.Path file) throws LastErrorException {
        byte[] b = new byte[STATX_SIZE];
        statx(AT_FDCWD, file.toString(), 0, STATX_BASIC_STATS, b);
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.nativeOrder()).getInt(4);
    }
}
