package org.nbdosgi.engine.transport;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.net.InetSocketAddress;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * What the kernel says about a client socket's other end, for {@link org.nbdosgi.api.Peer}: the
 * IP address of a TCP client, and the uid, gid and pid of a Unix socket client
 * ({@code SO_PEERCRED}, as nbdkit's ip filter uses them). The JDK reports only user and group
 * names for a Unix socket, so the credentials come from {@code getsockopt} on the socket's
 * descriptor, which needs {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED} (the launcher
 * passes it); without it, or off Linux, they are -1. The call goes through the JDK's foreign
 * function API from Java 22 (no library to load, no thread), through JNA on Java 21. Runs on the
 * accepting thread.
 */
public final class PeerCredentials {
    private static final Logger LOG = LoggerFactory.getLogger(PeerCredentials.class);
    private static final int SOL_SOCKET = 1;
    private static final int SO_PEERCRED = 17;

    private PeerCredentials() {
    }

    /** A TCP client: its address. */
    public static org.nbdosgi.api.Peer tcp(SocketChannel channel) {
        try {
            if (channel.getRemoteAddress() instanceof InetSocketAddress a) {
                return new org.nbdosgi.api.Peer(false, a.getAddress(), -1, -1, -1, null, null, List.of());
            }
        } catch (IOException e) {
            LOG.debug("no remote address: {}", e.getMessage());
        }
        return org.nbdosgi.api.Peer.NONE;
    }

    /** A Unix socket client: its process's uid, gid and pid, or -1 each if they cannot be had. */
    public static org.nbdosgi.api.Peer unix(SocketChannel channel) {
        int[] cred = {-1, -1, -1};                         // struct ucred: pid, uid, gid
        int fd = LibC.fd(channel);
        if (fd >= 0) {
            try {
                cred = GETSOCKOPT != null ? peerCred(fd) : SoPeerCred.of(fd);
            } catch (Throwable e) {
                LOG.debug("SO_PEERCRED failed: {}", e.toString());
            }
        }
        return new org.nbdosgi.api.Peer(true, null, cred[1], cred[2], cred[0], null, null, List.of());
    }

    /** getsockopt(2) through {@code java.lang.foreign} ({@link LibC}): {@code (int, int, int, Object, Object) int}; null before Java 22. */
    private static final MethodHandle GETSOCKOPT = getsockopt();

    private static MethodHandle getsockopt() {
        if (!LibC.AVAILABLE) {
            return null;
        }
        try {
            return LibC.downcall("getsockopt", "int", -1, "int", "int", "int", "pointer", "pointer")
                    .asType(MethodType.methodType(int.class, int.class, int.class, int.class, Object.class, Object.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debug("getsockopt through java.lang.foreign unavailable, JNA instead: {}", e.toString());
            return null;
        }
    }

    /** As {@link SocketTransport#prepare}: getsockopt once on descriptor -1 (EBADF, nothing touched). */
    static void prepare() {
        if (GETSOCKOPT != null) {
            try {
                peerCred(-1);
            } catch (Throwable e) {
                LOG.debug("preparing getsockopt: {}", e.toString());
            }
        }
    }

    /** pid, uid, gid of the socket's other end, or -1 each. */
    private static int[] peerCred(int fd) throws Throwable {
        ByteBuffer cred = ByteBuffer.allocateDirect(12).order(ByteOrder.nativeOrder());
        ByteBuffer length = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, 12);
        int r = (int) GETSOCKOPT.invokeExact(fd, SOL_SOCKET, SO_PEERCRED, LibC.SEGMENT_OF.invokeExact((Buffer) cred),
                LibC.SEGMENT_OF.invokeExact((Buffer) length));
        return r != 0 ? new int[] {-1, -1, -1} : new int[] {cred.getInt(0), cred.getInt(4), cred.getInt(8)};
    }

    /**
     * getsockopt(SO_PEERCRED) through JNA on Java 21, loaded with this class at the first Unix
     * socket client there: a server that only serves TCP never loads JNA.
     */
    private static final class SoPeerCred {
        static {
            Native.register(SoPeerCred.class, NativeLibrary.getInstance("libc.so.6"));   // by its name, "c" makes JNA run ldconfig
        }

        private static native int getsockopt(int fd, int level, int option, int[] value, int[] length) throws LastErrorException;

        /** pid, uid, gid of the socket's other end. */
        static int[] of(int fd) {
            int[] cred = new int[3];
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, new int[] {12});
            return cred;
        }
    }
}
