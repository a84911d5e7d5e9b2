package org.nbdosgi.engine.transport;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads and writes on a socket what can be done now, never waiting: {@code recv(2)} and
 * {@code sendmsg(2)} with {@code MSG_DONTWAIT}, which a blocking {@code SocketChannel} has no call
 * for. The connection's reader must never wait in a write (see the engine's ReplyWriter), and
 * handing each of its replies to another thread costs two thread switches per request at depth 1;
 * it polls for the next request before it sleeps (see WireIn).
 *
 * <p>It works on a duplicate of the socket's descriptor (close-on-exec) that only {@link #close}
 * closes, so the number it writes to always names this socket: the JDK may close its own
 * descriptor without us (an interrupted blocking read closes the channel), and the number could
 * then name the next client accepted. The caller serializes {@link #send}, {@link #receive} and {@link #close}.
 */
final class NonBlockingSocket {
    private static final Logger LOG = LoggerFactory.getLogger(NonBlockingSocket.class);
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final int MAX_IOVECS = 64;
    private static final int IOVECS_AT = 64;               // struct msghdr (56 bytes on x86-64 and aarch64), then the iovecs

    private static final MethodHandle SENDMSG;              // (int, Object segment, int) long
    private static final MethodHandle RECV;                 // (int, Object segment, long, int) long
    private static final MethodHandle FCNTL;                // (int, int, int) int
    private static final MethodHandle CLOSE;                // (int) int

    private final int fd;
    private final ByteBuffer header = ByteBuffer.allocateDirect(IOVECS_AT + 16 * MAX_IOVECS).order(ByteOrder.nativeOrder());
    private final Object headerSegment;
    private final long iovecsAddress;

    private NonBlockingSocket(int fd) throws Throwable {
        this.fd = fd;
        this.headerSegment = LibC.SEGMENT_OF.invokeExact((Buffer) header);
        this.iovecsAddress = (long) LibC.ADDRESS_OF.invokeExact((Buffer) header) + IOVECS_AT;
    }

    /** One on a duplicate of the channel's descriptor, or null where this cannot be done (before Java 22, off Linux). */
    static NonBlockingSocket of(SocketChannel channel) {
        if (SENDMSG == null) {
            return null;
        }
        int fd = LibC.fd(channel);
        try {
            int dup = fd < 0 ? -1 : (int) FCNTL.invokeExact(fd, F_DUPFD_CLOEXEC, 0);
            return dup < 0 ? null : new NonBlockingSocket(dup);
        } catch (Throwable e) {
            LOG.debug("no socket I/O without waiting: {}", e.toString());
            return null;
        }
    }

    /**
     * Sends from {@code srcs[offset]} to {@code srcs[offset + length - 1]} what the socket takes now
     * and advances the buffers' positions by it. Returns the bytes sent: 0 when nothing fits now or
     * the socket failed (a blocking write then finds out why), -1 when a buffer is not direct.
     */
    long send(ByteBuffer[] srcs, int offset, int length) {
        while (length > 0 && !srcs[offset].hasRemaining()) {  // sent already: the iovecs start at what is left
            offset++;
            length--;
        }
        int n = Math.min(length, MAX_IOVECS);
        if (n == 0) {
            return 0;
        }
        try {
            for (int i = 0; i < n; i++) {
                ByteBuffer b = srcs[offset + i];
                if (!b.isDirect()) {
                    return -1;
                }
                int at = IOVECS_AT + 16 * i;
                header.putLong(at, (long) LibC.ADDRESS_OF.invokeExact((Buffer) b)).putLong(at + 8, b.remaining());
            }
            header.putLong(0, 0).putLong(8, 0).putLong(16, iovecsAddress).putLong(24, n)
                    .putLong(32, 0).putLong(40, 0).putLong(48, 0);
            long sent = (long) SENDMSG.invokeExact(fd, headerSegment, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent <= 0) {
                return 0;
            }
            long left = sent;
            for (int i = 0; i < n && left > 0; i++) {
                ByteBuffer b = srcs[offset + i];
                int k = (int) Math.min(left, b.remaining());
                b.position(b.position() + k);
                left -= k;
            }
            return sent;
        } catch (Throwable e) {
            throw new IllegalStateException("sendmsg failed", e);
        }
    }

    /** Receives into {@code dst} what is there now; 0 when nothing is (or at the end of the stream: a blocking read then says so). */
    int receive(ByteBuffer dst) {
        if (!dst.isDirect() || !dst.hasRemaining()) {
            return 0;
        }
        try {
            long n = (long) RECV.invokeExact(fd, LibC.SEGMENT_OF.invokeExact((Buffer) dst), (long) dst.remaining(), MSG_DONTWAIT);
            if (n <= 0) {
                return 0;
            }
            dst.position(dst.position() + (int) n);
            return (int) n;
        } catch (Throwable e) {
            throw new IllegalStateException("recv failed", e);
        }
    }

    /**
     * Calls each function once on descriptor -1, where each fails with EBADF and touches nothing, so
     * that the code {@code java.lang.foreign} generates for a call exists before the first client's.
     */
    static void prepare() {
        if (SENDMSG == null) {
            return;
        }
        try {
            ByteBuffer scratch = ByteBuffer.allocateDirect(IOVECS_AT);
            // each result is assigned because invokeExact calls with the exact return type
            Object segment = LibC.SEGMENT_OF.invokeExact((Buffer) scratch);
            long received = (long) RECV.invokeExact(-1, segment, (long) IOVECS_AT, MSG_DONTWAIT);
            long sent = (long) SENDMSG.invokeExact(-1, segment, MSG_DONTWAIT | MSG_NOSIGNAL);
            int duplicate = (int) FCNTL.invokeExact(-1, F_DUPFD_CLOEXEC, 0);
            int closed = (int) CLOSE.invokeExact(-1);
            long address = (long) LibC.ADDRESS_OF.invokeExact((Buffer) scratch);
        } catch (Throwable e) {
            LOG.debug("preparing socket calls: {}", e.toString());
        }
    }

    /** Closes the duplicate descriptor; the channel's own stays the JDK's. */
    void close() {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable e) {
            LOG.debug("closing descriptor {}: {}", fd, e.toString());
        }
    }

    static {
        MethodHandle sendmsg = null;
        MethodHandle recv = null;
        MethodHandle fcntl = null;
        MethodHandle close = null;
        if (LibC.AVAILABLE) {
            try {
                sendmsg = LibC.downcall("sendmsg", "long", -1, "int", "pointer", "int")
                        .asType(MethodType.methodType(long.class, int.class, Object.class, int.class));
                recv = LibC.downcall("recv", "long", -1, "int", "pointer", "long", "int")
                        .asType(MethodType.methodType(long.class, int.class, Object.class, long.class, int.class));
                fcntl = LibC.downcall("fcntl", "int", 2, "int", "int", "int");
                close = LibC.downcall("close", "int", -1, "int");
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.debug("sendmsg unavailable: {}", e.toString());
                sendmsg = null;
            }
        }
        SENDMSG = sendmsg;
        RECV = recv;
        FCNTL = fcntl;
        CLOSE = close;
    }
}
