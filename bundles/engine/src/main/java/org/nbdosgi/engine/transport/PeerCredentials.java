package org.nbdosgi.engine.transport;

import java.io.IOException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * What the kernel says about a client socket's other end, for {@link org.nbdosgi.api.Peer}: the
 * IP address of a TCP client, and the uid, gid and pid of a Unix socket client
 * ({@code SO_PEERCRED}, as nbdkit's ip filter uses them). The JDK reports only user and group
 * names for a Unix socket, so the credentials come from {@code getsockopt} through JNA on the
 * socket's descriptor, which needs {@code --add-exports java.base/sun.nio.ch=ALL-UNNAMED} (the
 * launcher passes it); without it, or off Linux, they are -1. Runs on the accepting thread.
 */
public final class PeerCredentials {
    private static final Logger LOG = LoggerFactory.getLogger(PeerCredentials.class);

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
        int[] cred = SoPeerCred.of(channel);              // struct ucred: pid, uid, gid
        return new org.nbdosgi.api.Peer(true, null, cred[1], cred[2], cred[0], null, null, List.of());
    }

    /**
     * getsockopt(SO_PEERCRED) through JNA, loaded with this class at the first Unix socket client:
     * a server that only serves TCP never loads JNA (its native library, the {@code ldconfig} it runs
     * at load and its cleaner thread, which stays).
     */
    private static final class SoPeerCred {
        private static final int SOL_SOCKET = 1;
        private static final int SO_PEERCRED = 17;
        private static final Method FD_VAL = fdVal();

        static {
            if (FD_VAL != null) {
                Native.register(SoPeerCred.class, Platform.C_LIBRARY_NAME);
            }
        }

        private static native int getsockopt(int fd, int level, int option, int[] value, int[] length) throws LastErrorException;

        /** {@code sun.nio.ch.SelChImpl.getFDVal()}, if this JVM lets us call it; else null. */
        private static Method fdVal() {
            if (!Platform.isLinux()) {
                return null;
            }
            try {
                Method m = Class.forName("sun.nio.ch.SelChImpl", false, null).getMethod("getFDVal");
                m.setAccessible(true);
                return m;
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.info("Unix socket peer credentials unavailable (the JVM needs --add-exports java.base/sun.nio.ch=ALL-UNNAMED): {}",
                        e.toString());
                return null;
            }
        }

        /** pid, uid, gid of the socket's other end, or -1 each. */
        static int[] of(SocketChannel channel) {
            if (FD_VAL != null) {
                try {
                    int[] cred = new int[3];
                    getsockopt((Integer) FD_VAL.invoke(channel), SOL_SOCKET, SO_PEERCRED, cred, new int[] {12});
                    return cred;
                } catch (ReflectiveOperationException | LastErrorException | ClassCastException e) {
                    LOG.debug("SO_PEERCRED failed: {}", e.toString());
                }
            }
            return new int[] {-1, -1, -1};
        }
    }
}
