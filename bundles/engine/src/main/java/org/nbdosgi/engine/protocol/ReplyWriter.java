package org.nbdosgi.engine.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.nbdosgi.api.Extents;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.transport.Transport;

/**
 * Writes transmission-phase replies. Any request thread may reply: it queues its reply (a lock-free
 * stack: one compare-and-set) and, if no other thread is writing, writes every queued reply in one
 * gathering write (replies that finish together cost one system call), each reply whole, in any
 * order as the protocol allows. The common replies (write done, read data) are queued as a few
 * numbers and the writing thread encodes their headers into its own buffer, so they take nothing
 * from a pool; payloads go out from the request's own buffer without a copy.
 *
 * <p>Every reply method takes a {@code done} callback and owns it from then on: it runs exactly
 * once, after the reply was written or dropped because the client is gone, so the caller can
 * release the reply's buffers and in-flight budget there.
 *
 * <p>The connection's reader never waits in a write: a write blocks while the client's receive
 * buffer is full, and a client that writes requests before it reads replies waits for the reader
 * to read them, so a reader blocked in a write would wait for ever. Replies the reader queues (a
 * refused request, a request it ran itself) wait until it is about to wait itself, for the client's
 * next bytes or for room ({@link #flushQueued}): then it writes them, as many as the transport takes
 * without waiting, in one system call for all the requests that came in one read. What does not go
 * out then is written by a thread started for the purpose, which also takes over when the
 * transport cannot write without waiting (TLS). A transport that fails there is closed, which ends
 * the reader too. That thread is a platform thread, as the reader is: waking it is one futex, where
 * a virtual thread must be scheduled on a carrier first. The same thread writes large read replies
 * that virtual threads queue ({@link #HAND_OVER_BYTES}).
 */
public final class ReplyWriter {
    /** Most content chunks in one read reply; past this, zero runs are sent as data. */
    public static final int MAX_CHUNKS = 256;
    private static final int IOV_MAX = 1024;
    /** Most buffers one read reply's data may come in: with its chunk headers, it fits one gathering write. */
    public static final int MAX_READ_BUFFERS = 256;
    private static final int ZERO_BLOCK = 4096;

    private static final int INLINE_HEADER_MAX = 28;
    /**
     * A read reply this large, queued by a virtual thread, is handed to the platform writer thread
     * ({@link #readData}). It outgrows the socket's send buffer (about 208 KiB on a Unix socket),
     * and a virtual thread's write that finds the buffer full parks, registers the socket with the
     * JDK's poller and waits to be scheduled again, several times per MiB, where a platform thread
     * waits in poll(2); and the request's thread is free for the next read's copy meanwhile. Paired
     * rounds, 4 MiB reads at depth 8: the file plugin on tmpfs 1.21 times the throughput of the
     * request's own thread writing, the memory plugin (lent pages) 1.07; the nbd plugin 20 % less
     * CPU per MiB.
     */
    static final int HAND_OVER_BYTES = 128 * 1024;

    /** How a queued reply's header is made: already in its buffers, or encoded when written. */
    private enum Header { IN_BUFFERS, SIMPLE_OK, CHUNK_DONE, CHUNK_DATA_DONE }

    /** One queued reply: its header (or how to encode it) and payload slices, in wire order. */
    private static final class Outgoing {
        final Header header;
        final long cookie;
        final long offset;
        final ByteBuffer[] buffers;
        final Runnable done;
        /** Written by the platform writer thread when a virtual thread queues it. */
        final boolean handOver;
        Outgoing next;

        Outgoing(Header header, long cookie, long offset, ByteBuffer[] buffers, Runnable done, boolean handOver) {
            this.header = header;
            this.cookie = cookie;
            this.offset = offset;
            this.buffers = buffers;
            this.done = done;
            this.handOver = handOver;
        }

        int iovecs() {
            return buffers.length + (header == Header.IN_BUFFERS ? 0 : 1);
        }
    }

    private static final ByteBuffer[] NO_BUFFERS = new ByteBuffer[0];

    private final Transport transport;
    private final BufferPool pool;
    private final boolean structured;
    private final AtomicReference<Outgoing> queued = new AtomicReference<>();   // newest first
    private final AtomicBoolean writing = new AtomicBoolean();
    // the writing thread's own: reused for every batch, back to the pool at release()
    private final ByteBuffer headers;
    // views of the headers buffer, made at the first batch with that many replies and reused: a reply
    // allocates no view of its own
    private final ByteBuffer[] headerViews = new ByteBuffer[IOV_MAX];
    private final ByteBuffer[] gather = new ByteBuffer[IOV_MAX];
    private final Outgoing[] batch = new Outgoing[IOV_MAX];
    private volatile IOException broken;
    private volatile Thread reader;
    private final Thread.Builder writerThreads;
    // the thread that writes what the reader could not write without waiting: started when first needed,
    // parked between batches
    private volatile Thread readersWriter;
    // a batch the reader began and the transport did not take whole: gather[0, carriedBuffers) and
    // batch[0, carriedReplies), then carriedRest; the writer thread finishes it before anything else
    private int carriedBuffers;
    private int carriedReplies;
    private Outgoing carriedRest;
    private volatile boolean handedOver;
    private volatile boolean released;

    /**
     * @param name prefix of the threads that write for the reader (data-plane threads are named
     *             {@code nbd-data-*})
     */
    public ReplyWriter(Transport transport, BufferPool pool, boolean structured, String name) {
        this.transport = transport;
        this.pool = pool;
        this.structured = structured;
        this.headers = pool.acquire(IOV_MAX * INLINE_HEADER_MAX);
        this.writerThreads = Thread.ofPlatform().daemon().name(name);
    }

    /** The connection's reader: replies it queues are written by another thread. */
    public void neverWriteOn(Thread thread) {
        reader = thread;
    }

    /**
     * Gives the writer's own buffer back to the pool, once no thread writes (every reply was written
     * or dropped). The writer must not be used afterwards.
     */
    public void release() {
        released = true;
        Thread w = readersWriter;
        if (w != null) {
            LockSupport.unpark(w);
        }
        boolean interrupted = false;
        while (writing.get() || (w != null && w.isAlive())) {  // the last writer is finishing (a refused request's reply)
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        pool.release(headers);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A successful reply without payload (write, flush, trim, zero, cache): a simple reply, even with
     * structured replies, as the protocol allows for any command but a read. Its 16 bytes are one
     * recv for libnbd, where a structured NONE chunk's 20 are two (fio's nbd engine made 2 recvs per
     * 4 KiB write against nbdkit's 1, which answers so too).
     */
    public void ok(long cookie, Runnable done) throws IOException {
        enqueue(new Outgoing(Header.SIMPLE_OK, cookie, 0, NO_BUFFERS, done, false));
    }

    /** An error reply; with structured replies it carries {@code message} for the client to show. */
    public void error(long cookie, int error, String message, Runnable done) throws IOException {
        byte[] msg = structured && message != null ? message.getBytes(StandardCharsets.UTF_8) : new byte[0];
        int len = Math.min(msg.length, Nbd.MAX_STRING);
        ByteBuffer h = pool.acquire(32 + len);
        if (structured) {
            chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, cookie, 6 + len);
            h.putInt(error).putShort((short) len).put(msg, 0, len);
        } else {
            simpleHeader(h, error, cookie);
        }
        submit(h, done, false, h.flip());
    }

    /**
     * The data of a successful read, read at {@code offset}: the bytes of {@code data} from
     * position to limit, buffer after buffer (a pooled buffer, or the views a layer lent). With
     * structured replies, runs of zeros (whole 4 KiB blocks aligned to the export, each within one
     * buffer) go out as holes, unless the client asked not to fragment ({@code noFragment}). A
     * reply of at least {@link #HAND_OVER_BYTES} queued by a virtual thread is written by the
     * platform writer thread. At most {@link #MAX_READ_BUFFERS} buffers.
     */
    public void readData(long cookie, long offset, boolean noFragment, Runnable done, ByteBuffer... data) throws IOException {
        int length = payload(data);
        boolean handOver = length >= HAND_OVER_BYTES;
        if (structured && length == 0) {                    // a data chunk holds at least one byte: nothing is NONE
            enqueue(new Outgoing(Header.CHUNK_DONE, cookie, 0, NO_BUFFERS, done, false));
            return;
        }
        boolean holes;
        try {
            holes = structured && !noFragment && hasZeroBlock(offset, data);
        } catch (InternalError e) {
            done.run();
            throw unreadable(e);
        }
        if (holes) {
            splitHoles(cookie, offset, data, handOver, done);
            return;
        }
        enqueue(new Outgoing(structured ? Header.CHUNK_DATA_DONE : Header.SIMPLE_OK, cookie, offset, data, done, handOver));
    }

    /**
     * A scan of a read's data failed: pages a layer lent from a file mapping, whose file shrank
     * under them since ({@link org.nbdosgi.api.Handle#lend}). The reply is not queued; the
     * connection ends, as when a write of such pages fails.
     */
    private static IOException unreadable(InternalError e) {
        return new IOException("the read's data is no longer readable: " + e.getMessage(), e);
    }

    /** Whether {@code data} holds a whole aligned block of zeros worth sending as a hole. */
    private static boolean hasZeroBlock(long offset, ByteBuffer[] data) {
        for (ByteBuffer b : data) {
            int start = b.position();
            int first = start + (int) ((ZERO_BLOCK - (offset & (ZERO_BLOCK - 1))) & (ZERO_BLOCK - 1));
            for (int pos = first; pos + ZERO_BLOCK <= b.limit(); pos += ZERO_BLOCK) {
                if (isZero(b, pos)) {
                    return true;
                }
            }
            offset += b.remaining();
        }
        return false;
    }

    /**
     * Data and hole chunks for a read that has zero blocks, closed by a NONE chunk. A data chunk
     * may gather slices of several buffers; its header is encoded when the run ends, in the slot
     * kept for it before them.
     */
    private void splitHoles(long cookie, long offset, ByteBuffer[] data, boolean handOver, Runnable done) throws IOException {
        int room = Math.min(MAX_CHUNKS, maxRuns(data));     // sized for this read: a 4 KiB hole needs 2, not 514
        ByteBuffer h = pool.acquire(32 * (2 * room + 2));
        ByteBuffer[] out = new ByteBuffer[2 * room + 2 + data.length];
        int n;
        try {
            n = chunks(h, out, cookie, offset, data);
        } catch (InternalError e) {
            pool.release(h);
            done.run();
            throw unreadable(e);
        }
        int mark = h.position();
        chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
        out[n++] = h.slice(mark, h.position() - mark);
        submit(h, done, handOver, Arrays.copyOf(out, n));
    }

    /** The data and hole chunks of {@link #splitHoles}, into {@code out} (headers encoded into {@code h}); returns their count. */
    private static int chunks(ByteBuffer h, ByteBuffer[] out, long cookie, long offset, ByteBuffer[] data) {
        int n = 0;
        int chunks = 0;
        long at = offset;                                   // where the next byte is on the export
        long runAt = offset;
        boolean runIsHole = false;
        int runHeader = -1;                                 // out slot of the open data run's header
        for (ByteBuffer b : data) {
            int pieceStart = b.position();
            for (int pos = b.position(); pos < b.limit(); ) {
                int blockEnd = (int) Math.min(b.limit(), pos + (ZERO_BLOCK - (at & (ZERO_BLOCK - 1))));
                boolean hole = blockEnd - pos == ZERO_BLOCK && chunks < MAX_CHUNKS - 2 && isZero(b, pos);
                if (at == offset) {
                    runIsHole = hole;
                    runHeader = hole ? -1 : n++;
                } else if (hole != runIsHole) {
                    if (!runIsHole && pos > pieceStart) {
                        out[n++] = b.slice(pieceStart, pos - pieceStart);
                    }
                    n = endRun(h, out, n, cookie, runAt, at, runIsHole, runHeader);
                    chunks++;
                    runAt = at;
                    runIsHole = hole;
                    runHeader = hole ? -1 : n++;
                    pieceStart = pos;
                }
                at += blockEnd - pos;
                pos = blockEnd;
            }
            if (!runIsHole && b.limit() > pieceStart) {
                out[n++] = b.slice(pieceStart, b.limit() - pieceStart);
            }
        }
        return endRun(h, out, n, cookie, runAt, at, runIsHole, runHeader);
    }

    /** Most runs of data and holes {@code data} can split into: each holds at least one (part of a) block. */
    private static int maxRuns(ByteBuffer[] data) {
        long runs = 0;
        for (ByteBuffer b : data) {
            runs += b.remaining() / ZERO_BLOCK + 2;         // whole blocks, and a part at either end
        }
        return (int) Math.min(Integer.MAX_VALUE, runs);
    }

    /**
     * Ends the run of {@code [from, to)}: a hole chunk appended, or the data chunk's header into the
     * slot kept for it (its slices follow it in {@code out}).
     */
    private static int endRun(ByteBuffer h, ByteBuffer[] out, int n, long cookie, long from, long to, boolean hole,
                              int header) {
        int mark = h.position();
        if (hole) {
            chunkHeader(h, 0, Nbd.REPLY_TYPE_OFFSET_HOLE, cookie, 12);
            h.putLong(from).putInt((int) (to - from));
            out[n++] = h.slice(mark, h.position() - mark);
        } else {
            chunkHeader(h, 0, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + (int) (to - from));
            h.putLong(from);
            out[header] = h.slice(mark, h.position() - mark);
        }
        return n;
    }

    /** Whether the block at {@code pos} is all zeros; read in place (a slice per block was a buffer allocated per read). */
    private static boolean isZero(ByteBuffer data, int pos) {
        for (int i = pos; i < pos + ZERO_BLOCK; i += Long.BYTES) {
            if (data.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * A read that failed part way: the {@code good} bytes read at {@code offset} as data, then an
     * error at the offset where reading stopped, so the client knows what it did get.
     */
    public void readPrefixThenError(long cookie, long offset, ByteBuffer good, int error, String message, Runnable done)
            throws IOException {
        byte[] msg = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(msg.length, Nbd.MAX_STRING);
        ByteBuffer h = pool.acquire(64 + len);
        ByteBuffer[] out = new ByteBuffer[3];
        int n = 0;
        if (good.hasRemaining()) {
            chunkHeader(h, 0, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + good.remaining());
            h.putLong(offset);
            out[n++] = h.slice(0, h.position());
            out[n++] = good;
        }
        int mark = h.position();
        chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR_OFFSET, cookie, 14 + len);
        h.putInt(error).putShort((short) len).put(msg, 0, len).putLong(offset + good.remaining());
        out[n++] = h.slice(mark, h.position() - mark);
        submit(h, done, false, Arrays.copyOf(out, n));
    }

    /**
     * A block status reply: one NBD_REPLY_TYPE_BLOCK_STATUS chunk per meta context, context id i + 1
     * for {@code perContext[i]}, the last one flagged done. With REQ_ONE each chunk has one extent
     * no longer than {@code requested}; a descriptor's length stays within 32 bits.
     */
    public void blockStatus(long cookie, Extents[] perContext, long requested, boolean reqOne, Runnable done)
            throws IOException {
        int size = 0;
        for (Extents e : perContext) {
            size += 24 + 8 * (reqOne ? 1 : Math.min(e.count(), Extents.MAX_EXTENTS));
        }
        ByteBuffer h = pool.acquire(size);
        for (int c = 0; c < perContext.length; c++) {
            Extents extents = perContext[c];
            int max = reqOne ? 1 : Math.min(extents.count(), Extents.MAX_EXTENTS);
            int lengthAt = h.position() + 16;
            chunkHeader(h, c == perContext.length - 1 ? Nbd.REPLY_FLAG_DONE : 0, Nbd.REPLY_TYPE_BLOCK_STATUS, cookie, 0);
            h.putInt(c + 1);
            long sum = 0;
            int descriptors = 0;
            for (int i = 0; i < extents.count() && descriptors < max && sum < requested; i++) {
                long len = extents.length(i);
                if (reqOne) {
                    len = Math.min(len, requested);
                }
                len = Math.min(len, 0xFFFFFFFFL & ~511L);      // a descriptor's length is 32 bits
                h.putInt((int) len).putInt(extents.type(i));
                sum += len;
                descriptors++;
                if (len < extents.length(i)) {
                    break;                                     // clipped: the client asks again from here
                }
            }
            h.putInt(lengthAt, 4 + 8 * descriptors);
        }
        submit(h, done, false, h.flip());
    }

    private static void simpleHeader(ByteBuffer h, int error, long cookie) {
        h.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
    }

    private static ByteBuffer chunkHeader(ByteBuffer h, int flags, int type, long cookie, int length) {
        return h.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putInt(length);
    }

    /** Queues a reply whose headers are already encoded, in {@code header} (a pooled buffer, given back when done). */
    private void submit(ByteBuffer header, Runnable done, boolean handOver, ByteBuffer... buffers) throws IOException {
        enqueue(new Outgoing(Header.IN_BUFFERS, 0, 0, buffers, () -> {
            pool.release(header);
            done.run();
        }, handOver));
    }

    /**
     * Queues a reply and, if no other thread is writing, writes everything queued. The thread that
     * finds the writer busy returns at once: the writer takes its reply in the same or next batch.
     * The reader only queues (see {@link #flushQueued}). Once the transport has failed, every reply
     * is dropped (its callback still runs) and the failure is rethrown.
     */
    private void enqueue(Outgoing o) throws IOException {
        Outgoing head;
        do {
            head = queued.get();
            o.next = head;
        } while (!queued.compareAndSet(head, o));
        Thread current = Thread.currentThread();
        if (current == reader || (o.handOver && current.isVirtual())) {
            if (broken != null) {
                dropAll();
                throw broken;
            }
            if (current != reader && writing.compareAndSet(false, true)) {
                handOver();
            }
            return;
        }
        writeQueued();
    }

    /**
     * The reader, before it may wait (for the client's bytes, or for room): writes what is queued,
     * as much as the transport takes without waiting, and hands the rest to the writer thread. If
     * another thread is writing, that thread takes it. Throws if the transport has failed.
     */
    public void flushQueued() throws IOException {
        while (queued.get() != null) {
            if (broken != null) {
                dropAll();
                throw broken;
            }
            if (!writing.compareAndSet(false, true)) {
                return;                                     // the thread writing rechecks the queue when it lets go
            }
            boolean whole;
            try {
                whole = drain(true);
            } catch (IOException e) {
                broken = e;
                writing.set(false);
                dropAll();
                throw e;
            }
            if (!whole) {
                handOver();                                 // still holding writing: the writer thread lets go
                return;
            }
            writing.set(false);
        }
    }

    /**
     * The reader, with more requests to run before it would wait: what it queued goes to the writer
     * thread now, unless a thread is writing already (which takes it), so replies go out while the
     * reader runs the next requests.
     */
    public void writeSoon() {
        if (queued.get() != null && writing.compareAndSet(false, true)) {
            handOver();
        }
    }

    /** Holding {@code writing}: the writer thread writes what is carried and queued, then lets go. */
    private void handOver() {
        handedOver = true;
        Thread w = readersWriter;
        if (w == null) {
            readersWriter = writerThreads.start(this::writeForTheReader);
        } else {
            LockSupport.unpark(w);
        }
    }

    /**
     * The writer thread: each time it is handed the writing (it holds {@code writing} then), writes
     * everything carried and queued; parks in between; ends when the writer is released or the
     * transport fails (then closes it, so the reader stops too).
     */
    private void writeForTheReader() {
        try {
            while (true) {
                while (!handedOver) {
                    if (released) {
                        return;
                    }
                    LockSupport.park(this);
                }
                handedOver = false;
                drainAndLetGo();
                if (queued.get() != null) {
                    writeQueued();
                }
            }
        } catch (IOException e) {
            try {
                transport.close();                          // the client is gone: the reader stops too
            } catch (IOException ignored) {
                // closed already
            }
        }
    }

    /** Writes everything queued unless another thread is writing; the thread that finds the writer busy returns at once. */
    private void writeQueued() throws IOException {
        while (true) {
            if (broken != null) {
                dropAll();
                throw broken;
            }
            if (!writing.compareAndSet(false, true)) {
                return;
            }
            drainAndLetGo();
            if (queued.get() == null) {
                return;                                    // else a reply came after the last take: write it
            }
        }
    }

    /** Holding {@code writing}: writes everything queued and lets go; if that fails, the writer is broken and drops everything. */
    private void drainAndLetGo() throws IOException {
        try {
            drain(false);
        } catch (IOException e) {
            broken = e;
            writing.set(false);
            dropAll();
            throw e;
        }
        writing.set(false);
    }

    private void dropAll() {
        for (Outgoing o = queued.getAndSet(null); o != null; o = o.next) {
            o.done.run();
        }
    }

    /**
     * Writer only: finishes a carried batch, then takes everything queued, oldest first, and sends it
     * in batches of whole replies, one gathering write each. With {@code now} (the reader), writes
     * only what the transport takes without waiting and returns false when a batch is carried.
     */
    private boolean drain(boolean now) throws IOException {
        if (carriedReplies > 0) {
            finishCarried();
        }
        Outgoing o;
        while ((o = oldestFirst(queued.getAndSet(null))) != null) {
            while (o != null) {
                o = writeBatch(o, now);
                if (carriedReplies > 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Writes the rest of the carried batch, waiting as needed, then the replies after it. */
    private void finishCarried() throws IOException {
        int bufs = carriedBuffers;
        int replies = carriedReplies;
        Outgoing rest = carriedRest;
        carriedReplies = 0;
        carriedRest = null;
        try {
            writeFully(bufs);
        } catch (IOException e) {
            dropList(rest);
            throw e;
        } finally {
            finishBatch(bufs, replies);
        }
        while (rest != null) {
            rest = writeBatch(rest, false);
        }
    }

    private static Outgoing oldestFirst(Outgoing newestFirst) {
        Outgoing reversed = null;
        while (newestFirst != null) {
            Outgoing next = newestFirst.next;
            newestFirst.next = reversed;
            reversed = newestFirst;
            newestFirst = next;
        }
        return reversed;
    }

    /**
     * Writes {@code first} and the replies after it that fit in one gathering write; returns the rest.
     * If the write fails, the rest is dropped too. With {@code now}, writes only what the transport
     * takes without waiting; a batch that does not go out whole is carried (see {@link #drain}) and
     * null returned.
     */
    private Outgoing writeBatch(Outgoing first, boolean now) throws IOException {
        int replies = 0;
        int bufs = 0;
        long bytes = 0;
        headers.clear();
        Outgoing o = first;
        while (o != null && (replies == 0 || bufs + o.iovecs() <= IOV_MAX)) {
            batch[replies++] = o;
            if (o.header != Header.IN_BUFFERS) {
                gather[bufs++] = encodeHeader(o, replies - 1);
            }
            for (ByteBuffer b : o.buffers) {
                gather[bufs++] = b;
            }
            o = o.next;
        }
        boolean carry = false;
        try {
            if (now) {
                for (int i = 0; i < bufs; i++) {
                    bytes += gather[i].remaining();
                }
                carry = transport.tryWrite(gather, 0, bufs) < bytes;
                if (carry) {
                    carriedBuffers = bufs;
                    carriedReplies = replies;
                    carriedRest = o;
                    return null;
                }
            } else {
                writeFully(bufs);
            }
        } catch (IOException e) {
            dropList(o);                                    // taken but never written: dropped
            throw e;
        } finally {
            if (!carry) {
                finishBatch(bufs, replies);
            }
        }
        return o;
    }

    /**
     * Writes the batch whole. While the socket is full, it polls for room for up to
     * {@link WireIn#POLL_NANOS} (the reader's bound) after the last progress before it waits in a write: a writer asleep on a
     * virtual machine costs the client a wake-up through the hypervisor each time it reads some of a
     * large reply (pinned to one core each, 1 MiB reads at depth 16: 11 % more throughput).
     */
    private void writeFully(int bufs) throws IOException {
        long bytes = 0;
        for (int i = 0; i < bufs; i++) {
            bytes += gather[i].remaining();
        }
        long deadline = System.nanoTime() + WireIn.POLL_NANOS;
        while (bytes > 0) {
            long n = transport.tryWrite(gather, 0, bufs);
            if (n > 0) {
                bytes -= n;
                deadline = System.nanoTime() + WireIn.POLL_NANOS;
            } else if (n < 0 || System.nanoTime() > deadline) {
                bytes -= transport.write(gather, 0, bufs);
            } else {
                Thread.yield();                             // a thread with work on this core gets it
            }
        }
    }

    /** The batch is written (or dropped): its replies are done. */
    private void finishBatch(int bufs, int replies) {
        Arrays.fill(gather, 0, bufs, null);
        for (int i = 0; i < replies; i++) {
            batch[i].done.run();
            batch[i] = null;
        }
    }

    private static void dropList(Outgoing o) {
        for (; o != null; o = o.next) {
            o.done.run();
        }
    }

    private static int payload(ByteBuffer[] buffers) {
        int bytes = 0;
        for (ByteBuffer b : buffers) {
            bytes += b.remaining();
        }
        return bytes;
    }

    /** The header of a reply queued as numbers, encoded into the writer's own buffer; returned as the view for reply {@code index} of the batch. */
    private ByteBuffer encodeHeader(Outgoing o, int index) {
        int start = headers.position();
        switch (o.header) {
            case SIMPLE_OK -> simpleHeader(headers, 0, o.cookie);
            case CHUNK_DONE -> chunkHeader(headers, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, o.cookie, 0);
            case CHUNK_DATA_DONE -> chunkHeader(headers, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, o.cookie,
                    8 + payload(o.buffers)).putLong(o.offset);
            case IN_BUFFERS -> throw new IllegalStateException();
        }
        ByteBuffer view = headerViews[index];
        if (view == null) {
            view = headerViews[index] = headers.duplicate();
        }
        return view.limit(headers.position()).position(start);
    }
}
