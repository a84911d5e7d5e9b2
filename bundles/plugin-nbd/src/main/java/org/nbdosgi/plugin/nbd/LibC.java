package org.nbdosgi.plugin.nbd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * The few C library calls the upstream's poll loop needs (JNA direct mapping): poll(2) on the
 * libnbd socket and on an eventfd that request threads write to wake the loop, and shutdown(2) to
 * cut a connection whose requests must fail now. Linux constants.
 */
final class LibC {
    static final short POLLIN = 0x001;
    static final short POLLOUT = 0x004;
    static final short POLLERR = 0x008;
    static final short POLLHUP = 0x010;
    static final short POLLNVAL = 0x020;
    static final int EFD_CLOEXEC = 0x80000;
    static final int EFD_NONBLOCK = 0x800;
    static final int SHUT_RDWR = 2;
    static final int EINTR = 4;
    static final int EAGAIN = 11;

    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    /** {@code fds} holds {@code nfds} of {@code struct pollfd { int fd; short events; short revents; }}. */
    static native int poll(Pointer fds, long nfds, int timeout) throws LastErrorException;

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int shutdown(int fd, int how) throws LastErrorException;
}
