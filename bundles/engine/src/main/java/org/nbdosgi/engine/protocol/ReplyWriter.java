package org.nbdosgi.engine.protocol;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

import org.nbdosgi.api.Extents;

/**
 * Writes transmission-phase replies. Any request thread may reply; each reply goes out whole, as
 * one gathering write under the connection's write lock, so replies interleave only between
 * requests (out of order, as the protocol allows). Header bytes are assembled in one direct buffer
 * reused under the lock; payloads go out from the caller's buffer without a copy.
 */
public final class ReplyWriter {
    /** Most content chunks in one read reply; past this, zero runs are sent as data. */
    public static final int MAX_CHUNKS = 256;
    private static final int ZERO_BLOCK = 4096;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_BLOCK).asReadOnlyBuffer();

    private final GatheringByteChannel channel;
    private final ReentrantLock lock = new ReentrantLock();
    private final ByteBuffer headers = ByteBuffer.allocateDirect(64 * 1024);
    private final ByteBuffer[] gather = new ByteBuffer[2 * MAX_CHUNKS + 2];
    private final boolean structured;
    private int headerMark;

    public ReplyWriter(GatheringByteChannel channel, boolean structured) {
        this.channel = channel;
        this.structured = structured;
    }

    public boolean structured() {
        return structured;
    }

    /** A successful reply without payload (write, flush, trim, zero, cache). */
    public void ok(long cookie) throws IOException {
        lock.lock();
        try {
            headers.clear();
            if (structured) {
                chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
            } else {
                simpleHeader(0, cookie);
            }
            sendHeaders();
        } finally {
            lock.unlock();
        }
    }

    /** An error reply; with structured replies it carries {@code message} for the client to show. */
    public void error(long cookie, int error, String message) throws IOException {
        lock.lock();
        try {
            headers.clear();
            if (structured) {
                byte[] msg = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
                int len = Math.min(msg.length, 4096);
                chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR, cookie, 6 + len);
                headers.putInt(error).putShort((short) len).put(msg, 0, len);
            } else {
                simpleHeader(error, cookie);
            }
            sendHeaders();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The data of a successful read, {@code data} from position to limit, read at {@code offset}.
     * With structured replies, runs of zeros (whole aligned 4 KiB blocks) go out as holes, unless
     * the client asked not to fragment ({@code noFragment}).
     */
    public void readData(long cookie, long offset, ByteBuffer data, boolean noFragment) throws IOException {
        lock.lock();
        try {
            headers.clear();
            if (!structured) {
                simpleHeader(0, cookie);
                gather[0] = headers.flip();
                gather[1] = data;
                write(2);
                return;
            }
            int n = noFragment ? 0 : splitHoles(cookie, offset, data);
            if (n == 0) {
                chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + data.remaining());
                headers.putLong(offset);
                gather[0] = headers.flip();
                gather[1] = data;
                write(2);
            } else {
                write(n);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Lays out data and hole chunks for {@code data} into {@link #gather}; returns how many buffers
     * to write, or 0 when there is no hole worth sending (one plain data chunk is better).
     */
    private int splitHoles(long cookie, long offset, ByteBuffer data) {
        int start = data.position();
        int end = data.limit();
        int bufs = 0;
        int chunks = 0;
        boolean anyHole = false;
        int runStart = start;
        boolean runIsHole = false;
        for (int pos = start; pos < end; ) {
            // blocks are aligned to export offsets, so holes line up with the client's blocks
            long at = offset + (pos - start);
            int blockEnd = (int) Math.min(end, pos + (ZERO_BLOCK - (at & (ZERO_BLOCK - 1))));
            boolean hole = blockEnd - pos == ZERO_BLOCK && chunks < MAX_CHUNKS - 2 && isZero(data, pos);
            if (pos == runStart) {
                runIsHole = hole;
            } else if (hole != runIsHole) {
                bufs = emit(cookie, offset, data, runStart, pos, runIsHole, bufs);
                chunks++;
                anyHole |= runIsHole;
                runStart = pos;
                runIsHole = hole;
            }
            pos = blockEnd;
        }
        if (!anyHole && !runIsHole) {
            return 0;
        }
        bufs = emit(cookie, offset, data, runStart, end, runIsHole, bufs);
        chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_NONE, cookie, 0);
        return addHeaderSlice(bufs);
    }

    private int emit(long cookie, long offset, ByteBuffer data, int from, int to, boolean hole, int bufs) {
        long at = offset + (from - data.position());
        if (hole) {
            chunkHeader(0, Nbd.REPLY_TYPE_OFFSET_HOLE, cookie, 12);
            headers.putLong(at).putInt(to - from);
            return addHeaderSlice(bufs);
        }
        chunkHeader(0, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + (to - from));
        headers.putLong(at);
        bufs = addHeaderSlice(bufs);
        gather[bufs++] = data.slice(from, to - from);
        return bufs;
    }

    /** Adds the header bytes written since the last call as the next gather buffer. */
    private int addHeaderSlice(int bufs) {
        if (bufs == 0) {
            headerMark = 0;
        }
        int p = headers.position();
        gather[bufs] = headers.slice(headerMark, p - headerMark);
        headerMark = p;
        return bufs + 1;
    }

    private static boolean isZero(ByteBuffer data, int pos) {
        return data.slice(pos, ZERO_BLOCK).mismatch(ZEROS) < 0;
    }

    /**
     * A read that failed part way: the {@code good} bytes read at {@code offset} as data, then an
     * error at the offset where reading stopped, so the client knows what it did get.
     */
    public void readPrefixThenError(long cookie, long offset, ByteBuffer good, int error, String message) throws IOException {
        lock.lock();
        try {
            headers.clear();
            int bufs = 0;
            if (good.hasRemaining()) {
                chunkHeader(0, Nbd.REPLY_TYPE_OFFSET_DATA, cookie, 8 + good.remaining());
                headers.putLong(offset);
                bufs = addHeaderSlice(bufs);
                gather[bufs++] = good;
            }
            byte[] msg = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
            int len = Math.min(msg.length, 4096);
            chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_ERROR_OFFSET, cookie, 14 + len);
            headers.putInt(error).putShort((short) len).put(msg, 0, len).putLong(offset + good.remaining());
            write(addHeaderSlice(bufs));
        } finally {
            lock.unlock();
        }
    }

    /** A block status reply for base:allocation: at most one extent with {@code reqOne}. */
    public void blockStatus(long cookie, int contextId, Extents extents, long requested, boolean reqOne) throws IOException {
        lock.lock();
        try {
            headers.clear();
            int lengthAt = headers.position() + 16;
            chunkHeader(Nbd.REPLY_FLAG_DONE, Nbd.REPLY_TYPE_BLOCK_STATUS, cookie, 0);
            headers.putInt(contextId);
            long sum = 0;
            int descriptors = 0;
            int max = Math.min((headers.capacity() - headers.position()) / 8, reqOne ? 1 : Integer.MAX_VALUE);
            for (int i = 0; i < extents.count() && descriptors < max && sum < requested; i++) {
                long len = extents.length(i);
                if (reqOne) {
                    len = Math.min(len, requested);
                }
                len = Math.min(len, 0xFFFFFFFFL & ~511L);      // a descriptor's length is 32 bits
                headers.putInt((int) len).putInt(extents.type(i));
                sum += len;
                descriptors++;
                if (len < extents.length(i)) {
                    break;                                     // clipped: the client asks again from here
                }
            }
            headers.putInt(lengthAt, 4 + 8 * descriptors);
            sendHeaders();
        } finally {
            lock.unlock();
        }
    }

    private void simpleHeader(int error, long cookie) {
        headers.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie);
    }

    private void chunkHeader(int flags, int type, long cookie, int length) {
        headers.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putInt(length);
    }

    private void sendHeaders() throws IOException {
        gather[0] = headers.flip();
        write(1);
    }

    private void write(int count) throws IOException {
        long total = 0;
        for (int i = 0; i < count; i++) {
            total += gather[i].remaining();
        }
        while (total > 0) {
            long n = channel.write(gather, 0, count);
            if (n < 0) {
                throw new IOException("connection closed");
            }
            total -= n;
        }
        for (int i = 0; i < count; i++) {
            gather[i] = null;
        }
    }
}
