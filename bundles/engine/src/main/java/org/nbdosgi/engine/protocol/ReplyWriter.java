package org.nbdosgi.engine.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import org.nbdosgi.api.Extents;

/**
 * Writes transmission-phase replies. Any request thread may reply: it encodes its reply's headers
 * into a pooled direct buffer and queues the reply; whichever thread finds the socket free writes
 * every queued reply in one gathering write (replies that finish together cost one system call),
 * each reply whole, in any order as the protocol allows. Payloads go out from the request's own
 * buffer without a copy.
 *
 * <p>Every reply method takes a {@code done} callback and owns it from then on: it runs exactly
 * once, after the reply was written or dropped because the client is gone, so the caller can
 * release the reply's buffers and in-flight budget there.
 */
public final class ReplyWriter {
    /** Most content chunks in one read reply; past this, zero runs are sent as data. */
    public static final int MAX_CHUNKS = 256;
    private static final int IOV_MAX = 1024;
    private static final int ZERO_BLOCK = 4096;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_BLOCK).asReadOnlyBuffer();

    /** One encoded reply: headers and payload slices, in wire order. */
    private record Outgoing(ByteBuffer[] buffers, int count, Runnable done) {
    }

    private final GatheringByteChannel channel;
    private final BufferPool pool;
    private final boolean structured;
    private final ConcurrentLinkedQueue<Outgoing> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final ByteBuffer[] gather = new ByteBuffer[IOV_MAX];
    private final Outgoing[] batch = new Outgoing[IOV_MAX];
    private volatile IOException broken;

    public ReplyWriter(GatheringByteChannel channel, BufferPool pool, boolean structured) {
        this.channel = channel;
        this.pool = pool;
        this.structured = structured;
    }

    public boolean structured() {
        return structured;
    }

    /** A successful reply without payload (write, flush, trim, zero, cache). */
    public void ok(long cookie, Runnable done) throws IOException {
        ByteBuffer h = pool.acquire(32);
        if (structured) {
            chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
        } else {
            simpleHeader(h, 0, cookie);
        }
        submit(h, done, h.flip());
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
        submit(h, done, h.flip());
    }

    /**
     * The data of a successful read, {@code data} from position to limit, read at {@code offset}.
     * With structured replies, runs of zeros (whole 4 KiB blocks aligned to the export) go out as
     * holes, unless the client asked not to fragment ({@code noFragment}).
     */
    public void readData(long cookie, long offset, ByteBuffer data, boolean noFragment, Runnable done) throws IOException {
        if (!structured) {
            ByteBuffer h = pool.acquire(16);
            simpleHeader(h, 0, cookie);
            submit(h, done, h.flip(), data);
            return;
        }
        if (!noFragment && hasZeroBlock(offset, data)) {
            splitHoles(cookie, offset, data, done);
            return;
        }
        ByteBuffer h = pool.acquire(32);
        chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + data.remaining());
        h.putLong(offset);
        submit(h, done, h.flip(), data);
    }

    /** Whether {@code data} holds a whole aligned block of zeros worth sending as a hole. */
    private static boolean hasZeroBlock(long offset, ByteBuffer data) {
        int start = data.position();
        int first = start + (int) ((ZERO_BLOCK - (offset & (ZERO_BLOCK - 1))) & (ZERO_BLOCK - 1));
        for (int pos = first; pos + ZERO_BLOCK <= data.limit(); pos += ZERO_BLOCK) {
            if (isZero(data, pos)) {
                return true;
            }
        }
        return false;
    }

    /** Data and hole chunks for a read that has zero blocks, closed by a NONE chunk. */
    private void splitHoles(long cookie, long offset, ByteBuffer data, Runnable done) throws IOException {
        ByteBuffer h = pool.acquire(32 * (2 * MAX_CHUNKS + 2));
        ByteBuffer[] out = new ByteBuffer[2 * MAX_CHUNKS + 2];
        int n = 0;
        int start = data.position();
        int end = data.limit();
        int chunks = 0;
        int runStart = start;
        boolean runIsHole = false;
        for (int pos = start; pos < end; ) {
            long at = offset + (pos - start);
            int blockEnd = (int) Math.min(end, pos + (ZERO_BLOCK - (at & (ZERO_BLOCK - 1))));
            boolean hole = blockEnd - pos == ZERO_BLOCK && chunks < MAX_CHUNKS - 2 && isZero(data, pos);
            if (pos == runStart) {
                runIsHole = hole;
            } else if (hole != runIsHole) {
                n = chunk(h, out, n, cookie, offset, data, runStart, pos, runIsHole);
                chunks++;
                runStart = pos;
                runIsHole = hole;
            }
            pos = blockEnd;
        }
        n = chunk(h, out, n, cookie, offset, data, runStart, end, runIsHole);
        int mark = h.position();
        chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
        out[n++] = h.slice(mark, h.position() - mark);
        enqueue(new Outgoing(out, n, releasing(h, done)));
    }

    private static int chunk(ByteBuffer h, ByteBuffer[] out, int n, long cookie, long offset, ByteBuffer data,
                             int from, int to, boolean hole) {
        int mark = h.position();
        long at = offset + (from - data.position());
        if (hole) {
            chunkHeader(h, 0, Nbd.REPLY_TYPE_OFFSET_HOLE, cookie, 12);
            h.putLong(at).putInt(to - from);
            out[n++] = h.slice(mark, h.position() - mark);
            return n;
        }
        chunkHeader(h, 0, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + (to - from));
        h.putLong(at);
        out[n++] = h.slice(mark, h.position() - mark);
        out[n++] = data.slice(from, to - from);
        return n;
    }

    private static boolean isZero(ByteBuffer data, int pos) {
        return data.slice(pos, ZERO_BLOCK).mismatch(ZEROS) < 0;
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
        enqueue(new Outgoing(out, n, releasing(h, done)));
    }

    /** A block status reply for base:allocation: at most one extent with {@code reqOne}. */
    public void blockStatus(long cookie, int contextId, Extents extents, long requested, boolean reqOne, Runnable done)
            throws IOException {
        int max = reqOne ? 1 : Math.min(extents.count(), Extents.MAX_EXTENTS);
        ByteBuffer h = pool.acquire(32 + 8 * max);
        int lengthAt = 16;
        chunkHeader(h, Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, cookie, 0);
        h.putInt(contextId);
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
        submit(h, done, h.flip());
    }

    private static void simpleHeader(ByteBuffer h, int error, long cookie) {
        h.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
    }

    private static void chunkHeader(ByteBuffer h, int flags, int type, long cookie, int length) {
        h.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putInt(length);
    }

    private void submit(ByteBuffer header, Runnable done, ByteBuffer... buffers) throws IOException {
        enqueue(new Outgoing(buffers, buffers.length, releasing(header, done)));
    }

    private Runnable releasing(ByteBuffer header, Runnable done) {
        return () -> {
            pool.release(header);
            done.run();
        };
    }

    /**
     * Queues a reply and, if no other thread is writing, writes everything queued. The thread that
     * finds the writer busy returns at once: the writer takes its reply in the same or next batch.
     * Once the socket has failed, every reply is dropped (its callback still runs) and the failure
     * is rethrown.
     */
    private void enqueue(Outgoing o) throws IOException {
        queue.add(o);
        while (true) {
            if (broken != null) {
                dropAll();
                throw broken;
            }
            if (!writing.compareAndSet(false, true)) {
                return;
            }
            try {
                drain();
            } catch (IOException e) {
                broken = e;
                writing.set(false);
                dropAll();
                throw e;
            }
            writing.set(false);
            if (queue.isEmpty()) {
                return;                                    // else a reply came after the last poll: take it
            }
        }
    }

    private void dropAll() {
        Outgoing o;
        while ((o = queue.poll()) != null) {
            o.done.run();
        }
    }

    /** Writer only: sends the queued replies in batches of whole replies, one gathering write each. */
    private void drain() throws IOException {
        while (true) {
            int replies = 0;
            int bufs = 0;
            long bytes = 0;
            Outgoing o;
            while ((o = queue.peek()) != null && (replies == 0 || bufs + o.count <= IOV_MAX)) {
                queue.poll();
                batch[replies++] = o;
                for (int i = 0; i < o.count; i++) {
                    gather[bufs++] = o.buffers[i];
                    bytes += o.buffers[i].remaining();
                }
            }
            if (replies == 0) {
                return;
            }
            try {
                while (bytes > 0) {
                    bytes -= channel.write(gather, 0, bufs);
                }
            } finally {
                java.util.Arrays.fill(gather, 0, bufs, null);
                for (int i = 0; i < replies; i++) {
                    batch[i].done.run();
                    batch[i] = null;
                }
            }
        }
    }
}
