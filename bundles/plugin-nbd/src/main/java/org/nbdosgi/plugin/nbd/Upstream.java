package org.nbdosgi.plugin.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.CallLatency;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.libc.LibC;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * One connection to the upstream server: a libnbd handle and the platform thread that drives it.
 *
 * <p>The thread connects (socket, TLS and NBD handshakes), reads what the server offers, then runs
 * the poll loop: poll(2) on libnbd's socket in the direction libnbd asks for and on an eventfd,
 * then {@code nbd_aio_notify_read}/{@code _write}, which reads replies and calls the completion
 * callbacks. Request threads (data plane, virtual) issue {@code nbd_aio_*} commands themselves, a
 * short call under libnbd's lock that sends the request, and wait, unmounted, for the callback to
 * complete their {@link Pending}: one connection carries as many requests at once as the clients
 * send. A command that could not be sent at once makes libnbd want to write; the request thread
 * then writes the eventfd so the loop polls for that too.
 *
 * <p>When the server goes away, libnbd fails every command in flight (the callbacks run with an
 * error) and refuses new ones: requests get EIO at once, nothing waits. The connection stays dead;
 * a new one is made by opening the handle again (the next client, or the retry filter's reopen).
 */
final class Upstream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Upstream.class);
    private static final int ENOTCONN = 107;
    private static final long CLOSE_GRACE_NANOS = 5_000_000_000L;

    /** What the upstream export offers, read once after the handshake. */
    record Info(long size, BlockSize blockSize, boolean readOnly, boolean flush, boolean fua, boolean trim,
                boolean zero, boolean fastZero, boolean multiConn, boolean cache, boolean rotational,
                boolean extents, String description) {
    }

    /** A command in flight; completed with its errno (0: done) by libnbd's completion callback. */
    private static final class Pending extends CompletableFuture<Integer> {
        final Extents extents;
        NbdException extentsError;          // the poll thread's, read after completion

        Pending(Extents extents) {
            this.extents = extents;
        }
    }

    /** One {@code nbd_aio_*} call, given the handle and the callbacks to pass. */
    private interface Command {
        long issue(Pointer h, LibNbd.Completion completion, LibNbd.Extent extent);
    }

    private final NbdSettings settings;
    private final String exportName;
    private final String name;
    private final int wakeFd;
    private final Memory wakeValue = new Memory(8);
    private final Memory pollFds = new Memory(16);             // the poll thread's
    private final Memory drained = new Memory(8);              // the poll thread's
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final LibNbd.CompletionFunction onCompletion = this::completed;
    private final LibNbd.ExtentFunction onExtent = this::extent;
    private final ReentrantLock issuing = new ReentrantLock();  // guards the two structures below
    private final LibNbd.Completion completion = new LibNbd.Completion();
    private final LibNbd.Extent extentCallback = new LibNbd.Extent();
    /** Request threads inside a libnbd call on the handle; close waits for none. */
    private final AtomicInteger callers = new AtomicInteger();
    private final CompletableFuture<Info> connected = new CompletableFuture<>();
    private final Thread thread;
    private final CallLatency calls;
    private volatile Pointer handle;
    private volatile boolean closing;
    private volatile String lostReason;

    private Upstream(NbdSettings settings, String exportName, String name, CallLatency calls) {
        this.settings = settings;
        this.calls = calls;
        this.exportName = exportName;
        this.name = name;
        this.wakeFd = LibC.eventfd(0, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK);
        wakeValue.setLong(0, 1);
        completion.callback = onCompletion;
        extentCallback.callback = onExtent;
        this.thread = Thread.ofPlatform().daemon().name(name).start(this::run);
    }

    /**
     * Connects to the upstream server on a new platform thread named {@code name}; waits (the
     * caller's virtual thread unmounted) until the handshake is done. Its commands are timed into
     * {@code calls} (named as {@link #CALLS}).
     *
     * @throws NbdException EIO with libnbd's reason when the server cannot be reached or refuses
     */
    static Upstream connect(NbdSettings settings, String exportName, String name, CallLatency calls) throws NbdException {
        Upstream u;
        try {
            u = new Upstream(settings, exportName, name, calls);
        } catch (LastErrorException e) {
            throw new NbdException(NbdError.EIO, "eventfd: " + e.getMessage());
        }
        try {
            u.connected.join();
            return u;
        } catch (CompletionException e) {
            u.close();
            throw e.getCause() instanceof NbdException n ? n
                    : new NbdException(NbdError.EIO, "upstream " + settings.target() + ": " + e.getCause(), e.getCause());
        }
    }

    Info info() {
        return connected.join();
    }

    // ---- the poll thread ------------------------------------------------------------------------

    private void run() {
        try {
            handle = LibNbd.nbd_create();
            if (handle == null) {
                throw new NbdException(NbdError.EIO, "nbd_create: " + LibNbd.nbd_get_error());
            }
            configure(handle);
            handshake(handle);
            connected.complete(readInfo(handle));
        } catch (NbdException | RuntimeException | LinkageError e) {
            connected.completeExceptionally(e);
            return;
        }
        serve(handle);
    }

    private void configure(Pointer h) throws NbdException {
        check(LibNbd.nbd_set_handle_name(h, name), "set_handle_name");
        check(LibNbd.nbd_add_meta_context(h, LibNbd.BASE_ALLOCATION), "add_meta_context");
        check(LibNbd.nbd_set_full_info(h, true), "set_full_info");
        if (settings.tls() != NbdSettings.Tls.OFF) {
            if (LibNbd.nbd_supports_tls(h) != 1) {
                throw new NbdException(NbdError.EIO, "tls: this libnbd was built without TLS support");
            }
            check(LibNbd.nbd_set_tls(h, settings.tls().libnbd), "tls");
            check(LibNbd.nbd_set_tls_verify_peer(h, settings.tlsVerify()), "tls-verify");
            if (settings.tlsCertificates() != null) {
                check(LibNbd.nbd_set_tls_certificates(h, settings.tlsCertificates()), "tls-certificates");
            }
            if (settings.tlsUsername() != null) {
                check(LibNbd.nbd_set_tls_username(h, settings.tlsUsername()), "tls-username");
            }
            if (settings.tlsPsk() != null) {
                check(LibNbd.nbd_set_tls_psk_file(h, settings.tlsPsk()), "tls-psk");
            }
        }
        if (settings.uri() == null) {
            check(LibNbd.nbd_set_export_name(h, exportName), "export");
        }
    }

    /** Starts connecting and drives the handshake until the export is ready, within the timeout. */
    private void handshake(Pointer h) throws NbdException {
        String uri = settings.uri() == null ? null
                : settings.dynamicExport() ? NbdSettings.withExport(settings.uri(), exportName) : settings.uri();
        int r = uri != null ? LibNbd.nbd_aio_connect_uri(h, uri)
                : settings.socket() != null ? LibNbd.nbd_aio_connect_unix(h, settings.socket())
                : LibNbd.nbd_aio_connect_tcp(h, settings.hostname(), settings.port());
        check(r, "connect");
        long deadline = System.nanoTime() + settings.connectTimeout().toNanos();
        while (LibNbd.nbd_aio_is_ready(h) != 1) {
            if (LibNbd.nbd_aio_is_dead(h) == 1 || LibNbd.nbd_aio_is_closed(h) == 1) {
                throw new NbdException(NbdError.EIO, "upstream " + settings.target() + ": "
                        + (lostReason != null ? lostReason : "the server closed the connection during the handshake"));
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new NbdException(NbdError.EIO, "upstream " + settings.target() + ": no handshake within "
                        + settings.connectTimeout().toMillis() + " ms");
            }
            pollOnce(h, (int) Math.max(1, left / 1_000_000));
        }
    }

    private Info readInfo(Pointer h) throws NbdException {
        long size = LibNbd.nbd_get_size(h);
        if (size < 0) {
            throw new NbdException(NbdError.EIO, "upstream " + settings.target() + ": no size: " + LibNbd.nbd_get_error());
        }
        BlockSize blockSize = blockSize(LibNbd.nbd_get_block_size(h, LibNbd.SIZE_MINIMUM),
                LibNbd.nbd_get_block_size(h, LibNbd.SIZE_PREFERRED), LibNbd.nbd_get_block_size(h, LibNbd.SIZE_MAXIMUM));
        String description = null;
        Pointer d = LibNbd.nbd_get_export_description(h);
        if (d != null) {
            description = d.getString(0, "UTF-8");
            Native.free(Pointer.nativeValue(d));
        }
        return new Info(size, blockSize, LibNbd.nbd_is_read_only(h) == 1, LibNbd.nbd_can_flush(h) == 1,
                LibNbd.nbd_can_fua(h) == 1, LibNbd.nbd_can_trim(h) == 1, LibNbd.nbd_can_zero(h) == 1,
                LibNbd.nbd_can_fast_zero(h) == 1, LibNbd.nbd_can_multi_conn(h) == 1, LibNbd.nbd_can_cache(h) == 1,
                LibNbd.nbd_is_rotational(h) == 1, LibNbd.nbd_can_meta_context(h, LibNbd.BASE_ALLOCATION) == 1,
                description);
    }

    /**
     * The server's block size constraints made valid for our clients: 0 (not advertised) means the
     * protocol's defaults; the maximum is at most what the engine accepts (64 MiB).
     */
    static BlockSize blockSize(long min, long preferred, long max) {
        int minimum = min > 0 && min <= 65536 && Long.bitCount(min) == 1 ? (int) min : 1;
        int pref = preferred > 0 && preferred <= BlockSize.MAX_PAYLOAD && Long.bitCount(preferred) == 1
                ? (int) Math.max(preferred, Math.max(512, minimum)) : Math.max(4096, minimum);
        int maximum = max > 0 ? (int) Math.min(max, BlockSize.MAX_PAYLOAD) : BlockSize.MAX_PAYLOAD;
        maximum = Math.max(pref, maximum / minimum * minimum);
        return new BlockSize(minimum, pref, maximum);
    }

    /** Runs the handle until the connection ends (server gone, or closed by {@link #close()}). */
    private void serve(Pointer h) {
        long closeDeadline = 0;
        while (LibNbd.nbd_aio_is_dead(h) != 1 && LibNbd.nbd_aio_is_closed(h) != 1) {
            if (closing) {
                if (closeDeadline == 0) {
                    closeDeadline = System.nanoTime() + CLOSE_GRACE_NANOS;
                    if (LibNbd.nbd_aio_in_flight(h) > 0) {
                        cut(h);                                  // their requests fail now rather than hold the close
                    } else {
                        LibNbd.nbd_aio_disconnect(h, 0);         // NBD_CMD_DISC; the server then closes
                    }
                } else if (System.nanoTime() - closeDeadline > 0) {
                    break;
                }
            }
            pollOnce(h, closing ? 100 : -1);
        }
        if (!closing) {
            LOG.warn("{}: upstream {} lost: {}; its requests fail until the handle is opened again", name,
                    settings.target(), lostReason != null ? lostReason : "the server closed the connection");
        }
        // libnbd completed every command when the connection died; anything left never reached it
        pending.forEach((id, p) -> {
            if (pending.remove(id) != null) {
                p.complete(ENOTCONN);
            }
        });
    }

    /** One poll(2) on the socket (in libnbd's direction) and the eventfd, then one step of libnbd. */
    private void pollOnce(Pointer h, int timeoutMillis) {
        int direction = LibNbd.nbd_aio_get_direction(h);
        int fd = LibNbd.nbd_aio_get_fd(h);
        short events = (short) (((direction & LibNbd.AIO_DIRECTION_READ) != 0 ? LibC.POLLIN : 0)
                | ((direction & LibNbd.AIO_DIRECTION_WRITE) != 0 ? LibC.POLLOUT : 0));
        pollFds.setInt(0, fd);
        pollFds.setShort(4, events);
        pollFds.setShort(6, (short) 0);
        pollFds.setInt(8, wakeFd);
        pollFds.setShort(12, LibC.POLLIN);
        pollFds.setShort(14, (short) 0);
        try {
            LibC.poll(pollFds, 2, timeoutMillis);
        } catch (LastErrorException e) {
            if (e.getErrorCode() != LibC.EINTR) {
                LOG.warn("{}: poll failed: {}", name, e.getMessage());
                cut(h);
            }
            return;
        }
        if (pollFds.getShort(14) != 0) {
            try {
                LibC.read(wakeFd, drained, 8);
            } catch (LastErrorException e) {
                // EAGAIN: another poll already drained it
            }
        }
        short revents = pollFds.getShort(6);
        int r = 0;
        if ((revents & (LibC.POLLIN | LibC.POLLHUP | LibC.POLLERR)) != 0) {
            r = LibNbd.nbd_aio_notify_read(h);               // on POLLERR too: the read fails and libnbd gives up the connection
        } else if ((revents & LibC.POLLOUT) != 0) {
            r = LibNbd.nbd_aio_notify_write(h);
        } else if ((revents & LibC.POLLNVAL) != 0) {
            lostReason = "the socket was closed";
            cut(h);
        }
        if (r == -1) {
            lostReason = LibNbd.nbd_get_error();
        }
    }

    /** Shuts the socket down: libnbd then sees the end of the connection and fails what is in flight. */
    private void cut(Pointer h) {
        int fd = LibNbd.nbd_aio_get_fd(h);
        if (fd >= 0) {
            try {
                LibC.shutdown(fd, LibC.SHUT_RDWR);
            } catch (LastErrorException e) {
                LOG.debug("{}: shutdown: {}", name, e.getMessage());
            }
        }
    }

    /** libnbd's completion callback: on the poll thread, or on a request thread whose call found the connection dead. */
    private int completed(Pointer userData, Pointer error) {
        Pending p = pending.remove(Pointer.nativeValue(userData));
        if (p != null) {
            p.complete(error.getInt(0));
        }
        return 1;                                             // retire the command
    }

    /** libnbd's block status callback: the extents of one meta context, (length, flags) pairs of uint32. */
    private int extent(Pointer userData, Pointer metacontext, long offset, Pointer entries, long count, Pointer error) {
        Pending p = pending.get(Pointer.nativeValue(userData));
        if (p == null || p.extents == null || !LibNbd.BASE_ALLOCATION.equals(metacontext.getString(0))) {
            return 0;
        }
        long at = offset;
        try {
            for (long i = 0; i + 1 < count && !p.extents.isFull(); i += 2) {
                long length = entries.getInt(i * 4) & 0xffffffffL;
                int flags = entries.getInt(i * 4 + 4);
                p.extents.add(at, length, flags & (Extents.HOLE | Extents.ZERO));
                at += length;
            }
        } catch (NbdException e) {
            p.extentsError = e;
        }
        return 0;
    }

    private void check(int r, String what) throws NbdException {
        if (r == -1) {
            throw new NbdException(NbdError.EIO, "upstream " + settings.target() + ": " + what + ": " + LibNbd.nbd_get_error());
        }
    }

    // ---- request threads ------------------------------------------------------------------------

    /** The kinds of command, as the metrics' op label names them. */
    static final String[] CALLS = {"read", "write", "flush", "trim", "zero", "cache", "block_status"};
    private static final int READ = 0;
    private static final int WRITE = 1;
    private static final int FLUSH = 2;
    private static final int TRIM = 3;
    private static final int ZERO = 4;
    private static final int CACHE = 5;
    private static final int BLOCK_STATUS = 6;

    void pread(ByteBuffer buf, long offset) throws NbdException {
        Pointer p = address(buf);
        long n = buf.remaining();
        run(READ, null, (h, c, e) -> LibNbd.nbd_aio_pread(h, p, n, offset, c, 0));
    }

    void pwrite(ByteBuffer buf, long offset, int flags) throws NbdException {
        Pointer p = address(buf);
        long n = buf.remaining();
        run(WRITE, null, (h, c, e) -> LibNbd.nbd_aio_pwrite(h, p, n, offset, c, flags));
    }

    void flush() throws NbdException {
        run(FLUSH, null, (h, c, e) -> LibNbd.nbd_aio_flush(h, c, 0));
    }

    void trim(long offset, long length, int flags) throws NbdException {
        run(TRIM, null, (h, c, e) -> LibNbd.nbd_aio_trim(h, length, offset, c, flags));
    }

    void zero(long offset, long length, int flags) throws NbdException {
        run(ZERO, null, (h, c, e) -> LibNbd.nbd_aio_zero(h, length, offset, c, flags));
    }

    void cache(long offset, long length) throws NbdException {
        run(CACHE, null, (h, c, e) -> LibNbd.nbd_aio_cache(h, length, offset, c, 0));
    }

    void blockStatus(long offset, long length, int flags, Extents extents) throws NbdException {
        Pending p = run(BLOCK_STATUS, extents, (h, c, e) -> LibNbd.nbd_aio_block_status(h, length, offset, e, c, flags));
        if (p.extentsError != null) {
            throw p.extentsError;
        }
    }

    /** Commands in flight on this connection right now. */
    int inFlight() {
        return pending.size();
    }

    /** Issues a command and waits for its completion; the buffer it names stays in use until then. */
    private Pending run(int call, Extents extents, Command command) throws NbdException {
        long start = System.nanoTime();
        try {
            Pending p = issueAndWait(call, extents, command);
            calls.record(call, start, false);
            return p;
        } catch (NbdException e) {
            calls.record(call, start, true);
            throw e;
        }
    }

    private Pending issueAndWait(int call, Extents extents, Command command) throws NbdException {
        String op = CALLS[call].replace('_', ' ');
        Pending p = new Pending(extents);
        callers.incrementAndGet();
        try {
            if (closing) {
                throw new NbdException(NbdError.ESHUTDOWN, "upstream " + settings.target() + ": the handle is closed");
            }
            Pointer h = handle;
            long id = ids.incrementAndGet();
            Pointer userData = new Pointer(id);
            pending.put(id, p);
            long cookie;
            String error = null;
            issuing.lock();
            try {
                completion.userData = userData;
                extentCallback.userData = userData;
                cookie = command.issue(h, completion, extentCallback);
                if (cookie == -1) {
                    error = LibNbd.nbd_get_error();
                }
            } finally {
                issuing.unlock();
            }
            if (cookie == -1) {
                pending.remove(id);
                throw new NbdException(NbdError.EIO, "upstream " + settings.target() + ": " + op + ": "
                        + (LibNbd.nbd_aio_is_dead(h) == 1 || LibNbd.nbd_aio_is_closed(h) == 1 ? "the connection is lost" : error));
            }
            if ((LibNbd.nbd_aio_get_direction(h) & LibNbd.AIO_DIRECTION_WRITE) != 0) {
                wake();                                       // not all sent: the loop must poll for writing
            }
        } finally {
            callers.decrementAndGet();
        }
        int errno = p.join();                                 // never interrupted: libnbd may still use the buffer
        if (errno != 0) {
            throw new NbdException(NbdError.fromErrno(errno), "upstream " + settings.target() + ": " + op + ": "
                    + (errno == ENOTCONN ? "the connection is lost" : NbdError.fromErrno(errno).text()));
        }
        return p;
    }

    private void wake() {
        try {
            LibC.write(wakeFd, wakeValue, 8);
        } catch (LastErrorException e) {
            // EAGAIN: the counter is full, so the loop is awake anyway
        }
    }

    private static Pointer address(ByteBuffer direct) {
        Pointer base = Native.getDirectBufferPointer(direct);
        return direct.position() == 0 ? base : base.share(direct.position());
    }

    // ---- control ----------------------------------------------------------------------------------

    /**
     * Ends the connection (NBD_CMD_DISC when nothing is in flight; a cut socket when something still
     * is, so those requests fail rather than wait), stops the thread and frees the handle.
     */
    @Override
    public void close() {
        closing = true;
        wake();
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        while (callers.get() > 0) {
            LockSupport.parkNanos(100_000);                   // a request thread finishing a libnbd call
        }
        Pointer h = handle;
        if (h != null) {
            LibNbd.nbd_close(h);
        }
        try {
            LibC.close(wakeFd);
        } catch (LastErrorException e) {
            LOG.debug("{}: close eventfd: {}", name, e.getMessage());
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
