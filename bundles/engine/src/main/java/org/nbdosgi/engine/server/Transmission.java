package org.nbdosgi.engine.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.metrics.RequestMeter;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.protocol.ReplyWriter;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection: the reader's loop over requests, each checked
 * ({@link RequestCheck}), given its share of the connection's and the server's budgets
 * ({@link InFlight}, {@link PayloadBudget}) and run on a virtual thread of its own
 * ({@link #execute}), replying when done, in any order. Data plane.
 *
 * <p>Backpressure without stalls: the reader waits (and so stops reading, which pushes back on the
 * client through TCP) only for what frees itself, request slots and write payload bytes, which
 * come back as requests finish. Read data comes back only as the client reads its replies, so a
 * read that does not fit waits as a header in {@link #deferred} and starts when bytes come back,
 * while the reader reads on: a client that writes requests before it reads replies, or whose
 * buffers are smaller than what is in flight, keeps the server reading. Only a client that sends
 * {@value #MAX_DEFERRED} reads without reading one reply makes the reader wait. The reader never
 * writes a reply either (see {@link ReplyWriter}).
 */
final class Transmission {
    private static final Logger LOG = LoggerFactory.getLogger(Transmission.class);
    /** Each request, for -v (nbdkit's -D nbdkit.backend.datapath=0 quiets it). */
    private static final Logger REQUESTS = LoggerFactory.getLogger("nbd.datapath.requests");
    private static final long UNSIGNED_INT = 0xFFFFFFFFL;
    /**
     * Requests up to this size on a chain that never waits run on the reader itself; larger ones
     * still get a thread, so the reader goes on reading while their bytes are copied. 1 MiB writes
     * at depth 16 on two shared cores: 1.22 of the throughput with a thread each (median of 5
     * paired rounds), since the payload is copied while it is still in the reader's cache.
     */
    private static final long INLINE_MAX = 1 << 20;
    /**
     * Reads this large are lent by a chain that lends (no copy); smaller ones are copied. Memory
     * plugin, pinned paired runs at depth 16: lent 16 KiB reads 0.96 of copied ones, 64 KiB 1.43,
     * 1 MiB 1.37.
     */
    private static final int LEND_MIN = 64 * 1024;
    /**
     * A read or write this large keeps the reader a while (its payload to read, or its reply to
     * gather), so the replies the reader queued before it go to the writer thread first.
     */
    private static final int LONG_REQUEST = 64 * 1024;
    /** Small requests the reader runs between writing their replies, at most, while more are buffered. */
    private static final int REPLIES_PER_WRITE = 16;
    /** Platform workers of a connection whose chain blocks in the kernel: as many requests wait for the disk at once (nbdkit's default threads). */
    private static final int KERNEL_WORKERS = 16;
    /** Piece size for finding how far a failed read gets. */
    private static final int READ_PIECE = 64 * 1024;
    /** Reads waiting for read bytes, at most: a few MiB of headers for a client that reads no reply. */
    static final int MAX_DEFERRED = 65536;

    /**
     * A request as read; {@code bytes} is its share of the budgets (0 unless a read or a write),
     * {@code arrived} when its header came in, and {@code error} is set on the way to an error reply
     * (both for the meter).
     */
    private static final class Request {
        final int flags;
        final int type;
        final long cookie;
        final long offset;
        final long length;
        final long bytes;
        final long arrived;
        NbdError error;

        Request(int flags, int type, long cookie, long offset, long length, long bytes, long arrived) {
            this.flags = flags;
            this.type = type;
            this.cookie = cookie;
            this.offset = offset;
            this.length = length;
            this.bytes = bytes;
            this.arrived = arrived;
        }
    }

    private final Connection connection;
    private final long id;
    private final Session session;
    private final boolean structured;
    private final boolean fuaAllowed;
    private final List<String> metaContexts;
    private final RequestCheck check;
    private final Transport transport;
    private final WireIn in;
    private final ReplyWriter writer;
    private final BufferPool pool;
    private final InFlight inFlight;
    private final PayloadBudget budget;
    private final ArrayDeque<Request> deferred = new ArrayDeque<>();    // guarded by itself; only the reader adds
    private volatile int deferredCount;
    private final Thread.Builder requestThreads;
    private volatile ThreadPoolExecutor kernelWorkers;
    private int smallReplies;                                // the reader's: requests read since it last wrote or handed over replies
    private final LongAdder requests = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final RequestMeter meter;

    /** @param meter where requests are counted and timed, or null when the engine does not count */
    Transmission(Connection connection, Negotiated agreed, Transport transport, WireIn in, BufferPool pool,
                 PayloadBudget budget, int maxRequests, long maxBytes, RequestMeter meter) {
        this.connection = connection;
        this.id = connection.id();
        this.session = agreed.session();
        this.structured = agreed.structuredReplies();
        this.fuaAllowed = agreed.has(Nbd.FLAG_SEND_FUA);
        this.metaContexts = agreed.metaContexts();
        this.check = RequestCheck.of(agreed);
        this.transport = transport;
        this.in = in;
        this.writer = new ReplyWriter(transport, pool, structured, ControlPlane.DATA_PLANE_PREFIX + id + "-writer");
        this.pool = pool;
        this.budget = budget;
        this.inFlight = new InFlight(maxRequests, maxBytes);
        this.requestThreads = Thread.ofVirtual().name(ControlPlane.DATA_PLANE_PREFIX + id + "-request");
        this.meter = meter;
    }

    int inFlight() {
        return inFlight.requests();
    }

    long bytesInFlight() {
        return inFlight.bytes();
    }

    long requests() {
        return requests.sum();
    }

    long bytesRead() {
        return bytesRead.sum();
    }

    long bytesWritten() {
        return bytesWritten.sum();
    }

    /**
     * Reads and starts requests until the client disconnects or breaks the protocol; returns when
     * every request started has replied (or found the client gone), its buffers back in the pool.
     *
     * <p>The reader is a platform thread (one per connection, as nbdkit has): its blocking read
     * waits in the kernel and wakes when bytes come. A virtual thread's read that finds nothing
     * parks instead and hands the socket to the JDK's poller (an epoll_ctl, the poller's wake-up,
     * an unpark on a carrier): about ten more system calls and two more thread switches per
     * request at depth 1, and per chunk of a large write's payload. Requests still run on
     * virtual threads (on platform workers where the chain blocks in the kernel), except those
     * run on the reader itself ({@link #start}).
     */
    void run() throws IOException, InterruptedException {
        in.readAhead();
        in.beforeWaiting(this::flushReplies);
        in.pollWhen(() -> inFlight.requests() == 0);
        inFlight.beforeWaiting(this::flushReplies);
        if (meter != null) {
            in.stampArrivals();                         // before the reader starts: it reads the flag
        }
        Exception[] failure = new Exception[1];
        boolean[] disconnected = new boolean[1];
        Thread reader = Thread.ofPlatform().daemon().name(ControlPlane.DATA_PLANE_PREFIX + id + "-reader").start(() -> {
            writer.neverWriteOn(Thread.currentThread());
            try {
                disconnected[0] = readRequests();
            } catch (IOException | InterruptedException | RuntimeException e) {
                failure[0] = e;
            } finally {
                flushReplies();
            }
        });
        try {
            joinReader(reader);
        } finally {
            inFlight.awaitNone(() -> deferredCount == 0);   // requests fail fast once the transport is gone
            if (kernelWorkers != null) {
                kernelWorkers.shutdown();                   // idle: every request has replied
            }
            writer.release();
        }
        switch (failure[0]) {
            case null -> { }
            case IOException e -> throw e;
            case InterruptedException e -> throw e;
            case RuntimeException e -> throw e;
            default -> throw new IllegalStateException(failure[0]);
        }
        if (disconnected[0]) {
            transport.finish();                             // after the last reply: TLS is shut down cleanly
        }
    }

    /**
     * Waits for the reader to end; interrupted, interrupts it (which closes the transport, so it ends
     * at once) and still waits, then throws.
     */
    private static void joinReader(Thread reader) throws InterruptedException {
        boolean interrupted = false;
        while (true) {
            try {
                reader.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
                reader.interrupt();
            }
        }
        if (interrupted) {
            throw new InterruptedException("connection interrupted");
        }
    }

    /** True when the client disconnected (NBD_CMD_DISC), false when it broke the protocol. */
    private boolean readRequests() throws IOException, InterruptedException {
        while (true) {
            if (in.buffered() >= Nbd.REQUEST_SIZE) {
                repliesBeforeNext();
            }                                               // else they go out before the reader waits (flushReplies)
            int magic = in.readInt();
            int flags = in.readShort();
            int type = in.readShort();
            long cookie = in.readLong();
            long offset = in.readLong();
            long length = in.readInt() & UNSIGNED_INT;
            if (magic != Nbd.REQUEST_MAGIC) {
                LOG.info("connection {}: bad request magic {}, disconnecting", id, Integer.toHexString(magic));
                return false;
            }
            if (type == Nbd.CMD_DISC) {
                LOG.debug("connection {}: client disconnected", id);
                return true;
            }
            RequestCheck.Refusal refused = check.check(type, flags, offset, length);
            if (refused != null) {
                if (type == Nbd.CMD_WRITE) {
                    in.skip(length);                        // stay in step without holding the payload
                }
                LOG.debug("connection {}: {} refused: {}", id, Nbd.commandName(type), refused.reason());
                long arrived = in.arrived();
                writer.error(cookie, refused.error().code(), refused.reason(), meter == null ? () -> { }
                        : () -> meter.completed(type, 0, arrived, System.nanoTime(), refused.error()));
                continue;
            }
            long bytes = type == Nbd.CMD_READ || type == Nbd.CMD_WRITE ? Math.min(inFlight.share(length), budget.share(length)) : 0;
            Request r = new Request(flags, type, cookie, offset, length, bytes, in.arrived());
            if (REQUESTS.isDebugEnabled()) {
                REQUESTS.debug("connection {}: {} offset={} count={} flags=0x{}", id, Nbd.commandName(type), offset, length,
                        Integer.toHexString(flags));
            }
            switch (type) {
                case Nbd.CMD_READ -> admitRead(r);
                case Nbd.CMD_WRITE -> start(r, readPayload(r));
                default -> {
                    inFlight.take(0);
                    start(r, null);
                }
            }
        }
    }

    /**
     * The reader has the next request's header and will run it before it waits: what it queued goes
     * to the writer thread now if the next request keeps the reader a while (a large payload to
     * read, or a large read), so those replies go out meanwhile; otherwise the reader writes them
     * itself every {@value #REPLIES_PER_WRITE} replies and before it waits. Waking the writer
     * thread for small requests cost more than it saved: on a file on tmpfs, 4 KiB random writes at
     * depth 32, the reader spent 9 % of its time waking it (async-profiler), and writing the replies
     * itself gave 1.18 times the IOPS unpinned (1.23 pinned), random 70/30 1.14 (paired rounds).
     */
    private void repliesBeforeNext() {
        int type = in.peekShort(Nbd.REQUEST_TYPE_AT);
        long length = in.peekInt(Nbd.REQUEST_LENGTH_AT) & UNSIGNED_INT;
        if ((type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && length >= LONG_REQUEST) {
            writer.writeSoon();
            smallReplies = 0;
        } else if (++smallReplies >= REPLIES_PER_WRITE) {
            flushReplies();
        }
    }

    /**
     * A write: its slot and payload bytes (waiting for them, and in line for the server's bytes),
     * then the payload from the wire into a pooled buffer.
     */
    private ByteBuffer readPayload(Request r) throws IOException, InterruptedException {
        inFlight.take(r.bytes);
        ByteBuffer payload = null;
        try {
            if (!budget.tryTake(r.bytes)) {
                flushReplies();
                budget.take(r.bytes);
            }
            try {
                payload = pool.acquire((int) r.length);
                in.readFully(payload);
                return payload.flip();
            } catch (IOException | RuntimeException e) {
                if (payload != null) {
                    pool.release(payload);
                }
                budget.giveBack(r.bytes);
                throw e;
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            inFlight.finished(r.bytes);
            inFlight.answered();
            throw e;
        }
    }

    /** A read: started now if it fits, else deferred (never waiting) unless too many are. */
    private void admitRead(Request r) throws InterruptedException {
        if (deferredCount == 0 && inFlight.tryTakeRead(r.bytes)) {
            startRead(r);
            return;
        }
        synchronized (deferred) {
            deferred.addLast(r);
            deferredCount = deferred.size();
        }
        startDeferred();
        inFlight.awaitDeferredBelow(MAX_DEFERRED, () -> deferredCount);
    }

    /** A read with its slot and connection bytes: started once the server's bytes are there too (in line). */
    private void startRead(Request r) {
        if (budget.takeOrWait(r.bytes, () -> startOffReader(() -> execute(r, null)))) {
            start(r, null);
        }
    }

    /** Any thread, after room came back: starts the deferred reads that now fit, oldest first. */
    private void startDeferred() {
        if (deferredCount == 0) {
            return;
        }
        List<Request> go = null;
        synchronized (deferred) {
            Request head;
            while ((head = deferred.peekFirst()) != null && inFlight.tryTakeRead(head.bytes)) {
                deferred.pollFirst();
                if (go == null) {
                    go = new ArrayList<>();
                }
                go.add(head);
            }
            deferredCount = deferred.size();
        }
        if (go != null) {
            inFlight.wake();                                // the reader may wait for fewer deferred reads
            for (Request r : go) {
                if (budget.takeOrWait(r.bytes, () -> startOffReader(() -> execute(r, null)))) {
                    startOffReader(() -> execute(r, null));
                }
            }
        }
    }

    /**
     * Runs a request that has its share: on the reader when it is small and the chain never waits,
     * or blocks in the kernel while no other request is in flight or read behind it, or is a write
     * that lands in the page cache or a read the page cache holds; else on a thread of its own.
     */
    private void start(Request r, ByteBuffer payload) {
        if (r.length > INLINE_MAX) {
            startOffReader(() -> execute(r, payload));
        } else if (session.top().isNonBlocking() || aloneOnTheKernel() || writeToCache(r)) {
            execute(r, payload);                            // no thread hand-over
        } else if (!readFromCache(r)) {
            startOffReader(() -> execute(r, payload));
        }
    }

    /**
     * On a chain that blocks in the kernel, a read whose bytes the page cache holds is answered
     * here: with the chain's views of them if it lends them ({@link #lend}, from
     * {@value #LEND_MIN} bytes), else read ({@link org.nbdosgi.api.Handle#readCached}); returns
     * false, having used nothing, when it must wait for the disk (a worker reads it, and reports
     * any error). A warm file on disk then costs no wake-up per read, as on tmpfs; a cold one a
     * failed preadv2 per miss.
     */
    private boolean readFromCache(Request r) {
        if (r.type != Nbd.CMD_READ || !session.top().blocksInKernel() || connection.shutdownReason() != null) {
            return false;
        }
        ByteBuffer[] lent;
        try {
            lent = lend(r);
        } catch (RuntimeException e) {
            lent = null;                                    // read as usual, which reports any error
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();             // the connection is closing: the worker's read says so
            return false;
        }
        if (lent != null) {
            answer(r, null, null, dataReply(r, lent));
            return true;
        }
        ByteBuffer buf = pool.acquire((int) r.length);
        boolean[] hit = new boolean[1];
        try {
            session.run(top -> hit[0] = top.readCached(buf, r.offset, 0));
        } catch (IOException e) {
            hit[0] = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();             // the connection is closing: the worker's read says so
            hit[0] = false;
        }
        if (!hit[0]) {
            pool.release(buf);
            return false;
        }
        answer(r, null, buf, dataReply(r, buf));
        return true;
    }

    /**
     * True when the chain blocks in the kernel and the request just read is the only one in flight,
     * with nothing read behind it: a client that waits for each reply (depth 1). Its request waits for
     * the disk either way, and a worker would add a thread's wake-up to each one, where nbdkit's
     * thread runs the request it read. The next request, if the client sends one meanwhile, waits in
     * the socket until this one is done. A file on disk with its pages dropped, depth 1, two runs
     * of medians of 3 (nbdkit alternating): 4 KiB random reads 1.17 and 1.30 of nbdkit where workers
     * gave 0.97 and 0.78, random writes 1.65 and 1.90 where they gave 1.14 and 0.66.
     */
    private boolean aloneOnTheKernel() {
        return inFlight.requests() == 1 && in.buffered() == 0 && session.top().blocksInKernel();
    }

    /**
     * True for a write the chain says lands in the page cache (a file on a device; whole pages, no
     * FUA): it computes alone, as on tmpfs, and a worker would only add a wake-up. A file on disk
     * with its pages dropped, two runs of paired rounds against workers: 4 KiB random writes at
     * depth 32 1.32 and 1.16 times the IOPS (1.16 and 1.19 of nbdkit), 1 MiB writes at depth 16
     * 1.08 and 1.09.
     */
    private boolean writeToCache(Request r) {
        return r.type == Nbd.CMD_WRITE && session.top().blocksInKernel()
                && session.top().writesToCache(r.offset, r.length, fua(r));
    }

    /**
     * Runs a request on a thread of its own: a platform worker when the chain blocks in the kernel
     * (a file on a device: the worker reads in place, one wake-up where a virtual thread handing
     * its read to a disk thread took three), else a virtual thread.
     */
    private void startOffReader(Runnable request) {
        if (session.top().blocksInKernel()) {
            kernelWorkers().execute(request);
        } else {
            requestThreads.start(request);
        }
    }

    /** The connection's platform workers, started when first needed; idle ones end after a few seconds. */
    private ThreadPoolExecutor kernelWorkers() {
        ThreadPoolExecutor w = kernelWorkers;
        if (w == null) {
            synchronized (this) {
                w = kernelWorkers;
                if (w == null) {
                    w = new ThreadPoolExecutor(KERNEL_WORKERS, KERNEL_WORKERS, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                            Thread.ofPlatform().daemon().name(ControlPlane.DATA_PLANE_PREFIX + id + "-worker-", 0).factory());
                    w.allowCoreThreadTimeOut(true);
                    kernelWorkers = w;
                }
            }
        }
        return w;
    }

    /**
     * Runs one request and queues its reply. The request's slot, and a write's payload and bytes,
     * are free as soon as it has run; a read's buffer and bytes when its reply has been written
     * (the {@code done} the reply writer runs).
     */
    private void execute(Request r, ByteBuffer payload) {
        ByteBuffer[] data = new ByteBuffer[1];
        Reply reply;
        try {
            reply = perform(r, payload, data);
        } catch (IOException | InterruptedException e) {
            reply = errorReply(r, e);
        } catch (RuntimeException | Error e) {
            // never leave a request without a reply: its client would wait for ever
            LOG.error("connection {}: {} failed unexpectedly", id, Nbd.commandName(r.type), e);
            reply = errorReply(r, new NbdException(NbdError.EIO, e.toString(), e));
        }
        answer(r, payload, data[0], reply);
    }

    /** The request has run: frees what it no longer needs and queues its reply ({@code data}: a read's buffer, or null). */
    private void answer(Request r, ByteBuffer payload, ByteBuffer data, Reply reply) {
        finished(r, payload);
        Runnable done = r.type == Nbd.CMD_READ ? () -> readAnswered(r, data) : () -> {
            requests.increment();
            count(r);
            inFlight.answered();
        };
        send(done, reply);
    }

    /** Runs the request; how to reply. A read's buffer goes into {@code data}. */
    private Reply perform(Request r, ByteBuffer payload, ByteBuffer[] data) throws IOException, InterruptedException {
        String shutdown = connection.shutdownReason();
        if (shutdown != null) {
            throw new NbdException(NbdError.ESHUTDOWN, shutdown);
        }
        int fuaFlag = fua(r);
        switch (r.type) {
            case Nbd.CMD_READ -> {
                return read(r, data);
            }
            case Nbd.CMD_WRITE -> {
                session.run(top -> top.write(payload, r.offset, fuaFlag));
                bytesWritten.add(r.length);
            }
            case Nbd.CMD_FLUSH -> session.run(top -> top.flush(0));
            case Nbd.CMD_TRIM -> session.run(top -> top.trim(r.offset, r.length, fuaFlag));
            case Nbd.CMD_WRITE_ZEROES -> {
                int f = fuaFlag
                        | ((r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0 ? Flags.MAY_TRIM : 0)
                        | ((r.flags & Nbd.CMD_FLAG_FAST_ZERO) != 0 ? Flags.FAST_ZERO : 0);
                session.run(top -> top.zero(r.offset, r.length, f));
            }
            case Nbd.CMD_CACHE -> session.run(top -> top.cache(r.offset, r.length, 0));
            case Nbd.CMD_BLOCK_STATUS -> {
                boolean reqOne = (r.flags & Nbd.CMD_FLAG_REQ_ONE) != 0;
                Extents[] result = new Extents[metaContexts.size()];
                session.run(top -> {
                    for (int i = 0; i < result.length; i++) {           // context id i + 1, as negotiated
                        result[i] = new Extents(r.offset, top.size());
                        top.extents(metaContexts.get(i), r.offset, r.length, reqOne ? Flags.REQ_ONE : 0, result[i]);
                    }
                });
                return d -> writer.blockStatus(r.cookie, result, r.length, reqOne, d);
            }
            default -> throw new NbdException(NbdError.EINVAL, "unknown command " + r.type);
        }
        return d -> writer.ok(r.cookie, d);
    }

    /** {@link Flags#FUA} when the client asked for it and may. */
    private int fua(Request r) {
        return (r.flags & Nbd.CMD_FLAG_FUA) != 0 && fuaAllowed ? Flags.FUA : 0;
    }

    /** The request has run: its slot, and a write's payload and bytes, are free; deferred reads may start. */
    private void finished(Request r, ByteBuffer payload) {
        boolean write = r.type == Nbd.CMD_WRITE;
        if (payload != null) {
            pool.release(payload);
        }
        inFlight.finished(write ? r.bytes : 0);
        if (write) {
            budget.giveBack(r.bytes);
        }
        startDeferred();
    }

    /** A read's reply is written (or dropped): its buffer and bytes are free. */
    private void readAnswered(Request r, ByteBuffer data) {
        requests.increment();
        count(r);
        if (data != null) {
            pool.release(data);
        }
        inFlight.readSent(r.bytes);
        budget.giveBack(r.bytes);
        inFlight.answered();
        startDeferred();
    }

    /**
     * Reads and replies: with the chain's lent views of the bytes if it lends them (no copy, see
     * {@link org.nbdosgi.api.Handle#lend}), else into a pooled buffer that goes into {@code data}.
     * When a large read fails and structured replies allow it, the range is read again piece by
     * piece, and the client gets the data up to the failure and the failing offset
     * (NBD_REPLY_TYPE_ERROR_OFFSET) rather than nothing.
     */
    private Reply read(Request r, ByteBuffer[] data) throws IOException, InterruptedException {
        ByteBuffer[] lent = lend(r);
        if (lent != null) {
            return dataReply(r, lent);
        }
        ByteBuffer buf = data[0] = pool.acquire((int) r.length);
        try {
            session.run(top -> top.read(buf, r.offset, 0));
        } catch (IOException e) {
            if (!structured || noFragment(r) || r.length <= READ_PIECE || NbdException.errorOf(e) == NbdError.ESHUTDOWN) {
                throw e;
            }
            int good = 0;
            IOException failure = null;
            while (good < r.length && failure == null) {
                int at = good;
                int n = (int) Math.min(READ_PIECE, r.length - at);
                try {
                    session.run(top -> top.read(buf.slice(at, n), r.offset + at, 0));
                    good += n;
                } catch (IOException pieceFailed) {
                    failure = pieceFailed;
                }
            }
            if (failure != null) {
                NbdError err = NbdException.errorOf(failure);
                logFailure(r, err, "failed after " + good + " bytes: " + failure.getMessage());
                ByteBuffer prefix = buf.slice(0, good);
                r.error = err;
                return d -> writer.readPrefixThenError(r.cookie, r.offset, prefix, err.code(), err.text(), d);
            }
        }
        return dataReply(r, buf);
    }

    /**
     * The chain's views of a read's bytes, from {@value #LEND_MIN} bytes, if it lends them (see
     * {@link org.nbdosgi.api.Handle#lend}) in few enough buffers for one gathering write; else
     * null, and the caller reads them, which finds how far it gets. On a chain that blocks in the
     * kernel, only what is there without waiting: a file on disk the page cache holds then goes out
     * in one copy, from the cache to the socket.
     */
    private ByteBuffer[] lend(Request r) throws InterruptedException {
        if (r.length < LEND_MIN) {
            return null;
        }
        ByteBuffer[][] lent = new ByteBuffer[1][];
        try {
            session.run(top -> lent[0] = top.lend(r.offset, (int) r.length, 0));
        } catch (IOException e) {
            return null;
        }
        return lent[0] != null && lent[0].length <= ReplyWriter.MAX_READ_BUFFERS ? lent[0] : null;
    }

    /** The reply to a read that got all its bytes, in {@code data}; they count as read. */
    private Reply dataReply(Request r, ByteBuffer... data) {
        bytesRead.add(r.length);
        return d -> writer.readData(r.cookie, r.offset, noFragment(r), d, data);
    }

    /** The client asked for the read's data in one piece (NBD_CMD_FLAG_DF): no holes split out. */
    private static boolean noFragment(Request r) {
        return (r.flags & Nbd.CMD_FLAG_DF) != 0;
    }

    /** Its reply is written (or dropped with the client): the meter counts it, from arrival to now. */
    private void count(Request r) {
        if (meter != null) {
            meter.completed(r.type, r.error == null ? moved(r) : 0, r.arrived, System.nanoTime(), r.error);
        }
    }

    /** The bytes a successful request moved (read, write) or covered (trim, zero, cache). */
    private static long moved(Request r) {
        return switch (r.type) {
            case Nbd.CMD_READ, Nbd.CMD_WRITE, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES, Nbd.CMD_CACHE -> r.length;
            default -> 0;
        };
    }

    private interface Reply {
        void send(Runnable done) throws IOException;
    }

    /** The reader, before it may wait: its queued replies go out; if the client is gone, the transport is closed (the reader stops). */
    private void flushReplies() {
        smallReplies = 0;
        try {
            writer.flushQueued();
        } catch (IOException e) {
            LOG.debug("connection {}: replies not sent: {}", id, e.toString());
            Connection.closeQuietly(transport);
        }
    }

    /** Queues a reply (which owns {@code done}); if the client is gone, closes the transport so the reader stops too. */
    private void send(Runnable done, Reply reply) {
        try {
            reply.send(done);
        } catch (IOException e) {
            LOG.debug("connection {}: reply not sent: {}", id, e.toString());
            Connection.closeQuietly(transport);
        }
    }

    /**
     * The client gets the error and its plain text; what the layers said (server paths, which names
     * are files or directories) stays in the log: a server-side failure (EIO, ENOMEM) as a warning.
     */
    private Reply errorReply(Request r, Exception e) {
        NbdError err = e instanceof InterruptedException ? NbdError.ESHUTDOWN : NbdException.errorOf(e);
        r.error = err;
        logFailure(r, err, e instanceof NbdException ? e.getMessage() : e.toString());
        return d -> writer.error(r.cookie, err.code(), err.text(), d);
    }

    private void logFailure(Request r, NbdError err, String details) {
        if (err == NbdError.EIO || err == NbdError.ENOMEM) {
            LOG.warn("connection {}: {} at {}+{} failed: {}", id, Nbd.commandName(r.type), r.offset, r.length, details);
        } else {
            LOG.debug("connection {}: {} at {}+{} failed: {} {}", id, Nbd.commandName(r.type), r.offset, r.length, err, details);
        }
    }
}
