package org.nbdosgi.engine.transport;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Optional;

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
    private static final Method FD_VAL = fdVal();

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
        if (FD_VAL != null) {
            try {
                int fd = (Integer) FD_VAL.invoke(channel);
                cred = Foreign.GETSOCKOPT != null ? Foreign.peerCred(fd) : SoPeerCred.of(fd);
            } catch (Throwable e) {
                LOG.debug("SO_PEERCRED failed: {}", e.toString());
            }
        }
        return new org.nbdosgi.api.Peer(true, null, cred[1], cred[2], cred[0], null, null, List.of());
    }

    /** {@code sun.nio.ch.SelChImpl.getFDVal()}, if this JVM lets us call it (on Linux); else null. */
    private static Method fdVal() {
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
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

    /**
     * getsockopt(SO_PEERCRED) through {@code java.lang.foreign} (final from Java 22; the bundles are
     * built for Java 21, so it is reached through method handles); {@link #GETSOCKOPT} is null
     * before Java 22.
     */
    private static final class Foreign {
        static final MethodHandle GETSOCKOPT;                // (int, int, int, MemorySegment, MemorySegment) int
        private static final MethodHandle OF_CONFINED;       // Arena.ofConfined()
        private static final MethodHandle ALLOCATE;          // arena.allocate(long)
        private static final MethodHandle GET_INT;           // segment.get(ValueLayout.OfInt, long)
        private static final MethodHandle SET_INT;           // segment.set(ValueLayout.OfInt, long, int)
        private static final Object JAVA_INT;                // ValueLayout.JAVA_INT

        static {
            MethodHandle getsockopt = null;
            MethodHandle ofConfined = null;
            MethodHandle allocate = null;
            MethodHandle getInt = null;
            MethodHandle setInt = null;
            Object javaInt = null;
            if (Runtime.version().feature() >= 22) {
                try {
                    MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                    Class<?> arena = Class.forName("java.lang.foreign.Arena");
                    Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
                    Class<?> layout = Class.forName("java.lang.foreign.MemoryLayout");
                    Class<?> valueLayout = Class.forName("java.lang.foreign.ValueLayout");
                    Class<?> ofInt = Class.forName("java.lang.foreign.ValueLayout$OfInt");
                    Class<?> descriptor = Class.forName("java.lang.foreign.FunctionDescriptor");
                    Class<?> linkerClass = Class.forName("java.lang.foreign.Linker");
                    Class<?> option = Class.forName("java.lang.foreign.Linker$Option");
                    Class<?> symbols = Class.forName("java.lang.foreign.SymbolLookup");
                    javaInt = valueLayout.getField("JAVA_INT").get(null);
                    Object address = valueLayout.getField("ADDRESS").get(null);
                    Object args = Array.newInstance(layout, 5);
                    Array.set(args, 0, javaInt);
                    Array.set(args, 1, javaInt);
                    Array.set(args, 2, javaInt);
                    Array.set(args, 3, address);
                    Array.set(args, 4, address);
                    Object function = descriptor.getMethod("of", layout, args.getClass()).invoke(null, javaInt, args);
                    Object linker = linkerClass.getMethod("nativeLinker").invoke(null);
                    Object libc = linkerClass.getMethod("defaultLookup").invoke(linker);
                    Object symbol = ((Optional<?>) symbols.getMethod("find", String.class).invoke(libc, "getsockopt")).orElseThrow();
                    getsockopt = (MethodHandle) linkerClass.getMethod("downcallHandle", segment, descriptor, Array.newInstance(option, 0).getClass())
                            .invoke(linker, symbol, function, Array.newInstance(option, 0));
                    ofConfined = lookup.findStatic(arena, "ofConfined", MethodType.methodType(arena));
                    allocate = lookup.findVirtual(arena, "allocate", MethodType.methodType(segment, long.class));
                    getInt = lookup.findVirtual(segment, "get", MethodType.methodType(int.class, ofInt, long.class));
                    setInt = lookup.findVirtual(segment, "set", MethodType.methodType(void.class, ofInt, long.class, int.class));
                } catch (ReflectiveOperationException | RuntimeException e) {
                    LOG.debug("getsockopt through java.lang.foreign unavailable, JNA instead: {}", e.toString());
                    getsockopt = null;
                }
            }
            GETSOCKOPT = getsockopt;
            OF_CONFINED = ofConfined;
            ALLOCATE = allocate;
            GET_INT = getInt;
            SET_INT = setInt;
            JAVA_INT = javaInt;
        }

        /** pid, uid, gid of the socket's other end, or -1 each. */
        static int[] peerCred(int fd) throws Throwable {
            try (AutoCloseable arena = (AutoCloseable) OF_CONFINED.invoke()) {
                Object cred = ALLOCATE.invoke(arena, 12L);
                Object length = ALLOCATE.invoke(arena, 4L);
                SET_INT.invoke(length, JAVA_INT, 0L, 12);
                int r = (int) GETSOCKOPT.invoke(fd, SOL_SOCKET, SO_PEERCRED, cred, length);
                if (r != 0) {
                    return new int[] {-1, -1, -1};
                }
                return new int[] {(int) GET_INT.invoke(cred, JAVA_INT, 0L), (int) GET_INT.invoke(cred, JAVA_INT, 4L),
                        (int) GET_INT.invoke(cred, JAVA_INT, 8L)};
            }
        }
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
