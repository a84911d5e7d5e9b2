package org.nbdosgi.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.GatheringByteChannel;
import java.util.concurrent.locks.ReentrantLock;

import com.sun.jna.Memory;

/**
 * TLS over a plain channel (a socket), as a channel of plaintext: one reader at a time and one
 * writer at a time, concurrently with each other (the connection's reader thread and whichever
 * request thread writes replies).
 *
 * <p>All socket I/O is Java's, so a virtual thread waiting for the network parks; the TLS engine
 * only transforms bytes in memory. Reads fill a ciphertext buffer from the socket and decrypt
 * straight into the caller's buffer. Writes gather small buffers into full records (a reply header
 * and a 4 KiB block become one record, not two) and encrypt large ones in place, then send the
 * ciphertext of several records per system call. The engine is not thread-safe: every call into it
 * holds {@code engineLock}, never across socket I/O. The buffers are native memory freed at
 * {@link #close}, not left to the garbage collector.
 */
public final class TlsChannel implements ByteChannel, GatheringByteChannel {
    /** Largest TLS record payload: small writes are gathered up to this. */
    private static final int RECORD = 16 * 1024;
    /** Plaintext encrypted per engine call, so a large write does not hold the engine lock long. */
    private static final int CHUNK = 64 * 1024;
    /** Ciphertext of a chunk: its records' headers and tags, with room to spare. */
    private static final int CHUNK_CIPHERTEXT = CHUNK + 4 * 1024;
    private static final int IN_SIZE = 64 * 1024;
    private static final int OUT_SIZE = 2 * CHUNK_CIPHERTEXT;

    private final ByteChannel plain;
    private final TlsEngine engine;
    private final ReentrantLock engineLock = new ReentrantLock();
    private final ReentrantLock readLock = new ReentrantLock();
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Memory memory;
    private final ByteBuffer in;        // ciphertext from the socket; reader's
    private final ByteBuffer bounce;    // plaintext for a heap buffer; reader's
    private final ByteBuffer out;       // ciphertext for the socket; writer's
    private final ByteBuffer gathered;  // small plaintext buffers gathered into a record; writer's
    private volatile boolean closed;
    private TlsPeer peer;

    private TlsChannel(ByteChannel plain, TlsEngine engine) {
        this.plain = plain;
        this.engine = engine;
        this.memory = new Memory(IN_SIZE + RECORD + OUT_SIZE + RECORD);
        ByteBuffer all = memory.getByteBuffer(0, memory.size());
        this.in = all.slice(0, IN_SIZE).limit(0);
        this.bounce = all.slice(IN_SIZE, RECORD);
        this.out = all.slice(IN_SIZE + RECORD, OUT_SIZE);
        this.gathered = all.slice(IN_SIZE + RECORD + OUT_SIZE, RECORD);
    }

    /**
     * Runs the TLS handshake over {@code plain} and returns the channel, or throws with the reason
     * (after sending the alert that tells the peer). Nothing of the TLS stream may have been read
     * from {@code plain} yet. The caller bounds the time this may take by closing {@code plain}.
     * On failure the engine is closed, {@code plain} is not.
     */
    public static TlsChannel handshake(ByteChannel plain, TlsEngine engine) throws IOException {
        TlsChannel c = new TlsChannel(plain, engine);
        try {
            while (true) {
                boolean done;
                try {
                    done = engine.handshake();
                } finally {
                    c.flushQuietly();                       // the next flight, or the alert saying why not
                }
                if (done) {
                    break;
                }
                if (!c.fill()) {
                    throw new TlsException("the peer closed the connection during the TLS handshake");
                }
            }
            c.peer = engine.peer();
            return c;
        } catch (IOException | RuntimeException e) {
            c.release();
            throw e;
        }
    }

    /** Who the peer is: protocol, cipher, identity. */
    public TlsPeer peer() {
        return peer;
    }

    // ---- reading ------------------------------------------------------------------------------

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        readLock.lock();
        try {
            while (true) {
                int n = dst.isDirect() ? decrypt(dst) : decryptViaBounce(dst);
                if (n != 0) {
                    return n;
                }
                if (!fill()) {
                    return -1;
                }
            }
        } finally {
            readLock.unlock();
        }
    }

    private int decrypt(ByteBuffer dst) throws IOException {
        int n;
        boolean reply;
        engineLock.lock();
        try {
            ensureOpen();
            n = engine.read(dst);
            // what reading made the engine say (a key update answered) goes out once the records read are used up
            reply = n <= 0 && engine.pending() > 0;
        } finally {
            engineLock.unlock();
        }
        if (reply && writeLock.tryLock()) {                // else the writer sends it with its next flush
            try {
                flush();
            } finally {
                writeLock.unlock();
            }
        }
        return n;
    }

    private int decryptViaBounce(ByteBuffer dst) throws IOException {
        bounce.clear().limit(Math.min(RECORD, dst.remaining()));
        int n = decrypt(bounce);
        if (n > 0) {
            dst.put(bounce.flip());
        }
        return n;
    }

    /** Reads what the socket has into the engine; false at end of stream. */
    private boolean fill() throws IOException {
        in.clear();
        int n = plain.read(in);
        if (n < 0) {
            return false;
        }
        in.flip();
        engineLock.lock();
        try {
            ensureOpen();
            engine.receive(in);
        } finally {
            engineLock.unlock();
        }
        return true;
    }

    // ---- writing ------------------------------------------------------------------------------

    @Override
    public int write(ByteBuffer src) throws IOException {
        return (int) write(new ByteBuffer[] {src}, 0, 1);
    }

    @Override
    public long write(ByteBuffer[] srcs) throws IOException {
        return write(srcs, 0, srcs.length);
    }

    /** Writes all of every buffer (encrypted), blocking until the socket took it. */
    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        writeLock.lock();
        try {
            ensureOpen();
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                ByteBuffer src = srcs[i];
                total += src.remaining();
                while (src.hasRemaining()) {
                    if (gathered.position() == 0 && src.isDirect() && src.remaining() >= RECORD) {
                        int n = Math.min(CHUNK, src.remaining());
                        int end = src.position() + n;
                        encrypt(src.slice(src.position(), n));
                        src.position(end);
                    } else {
                        int n = Math.min(gathered.remaining(), src.remaining());
                        gathered.put(gathered.position(), src, src.position(), n);
                        gathered.position(gathered.position() + n);
                        src.position(src.position() + n);
                        if (!gathered.hasRemaining()) {
                            encryptGathered();
                        }
                    }
                }
            }
            encryptGathered();
            flush();
            return total;
        } finally {
            writeLock.unlock();
        }
    }

    private void encryptGathered() throws IOException {
        if (gathered.position() > 0) {
            encrypt(gathered.flip());
            gathered.clear();
        }
    }

    /** Encrypts {@code plaintext} (at most a chunk) and moves its records to the output buffer. Writer only. */
    private void encrypt(ByteBuffer plaintext) throws IOException {
        if (out.remaining() < CHUNK_CIPHERTEXT) {
            sendOut();
        }
        engineLock.lock();
        try {
            ensureOpen();
            engine.write(plaintext);
            engine.send(out);
        } finally {
            engineLock.unlock();
        }
    }

    /** Sends all ciphertext waiting, in the output buffer and in the engine. Writer only. */
    private void flush() throws IOException {
        while (true) {
            boolean drained;
            engineLock.lock();
            try {
                ensureOpen();
                int room = out.remaining();
                drained = engine.send(out) < room;          // it had less than the room: nothing is left in it
            } finally {
                engineLock.unlock();
            }
            sendOut();
            if (drained) {
                return;
            }
        }
    }

    private void flushQuietly() {
        try {
            flush();
        } catch (IOException e) {
            // the peer is gone; the caller reports the handshake's own failure
        }
    }

    private void sendOut() throws IOException {
        out.flip();
        try {
            while (out.hasRemaining()) {
                plain.write(out);
            }
        } finally {
            out.clear();
        }
    }

    /**
     * Ends TLS politely (close_notify) after the last reply, before the socket closes. Waits for a
     * writer in progress; the caller must know the peer still reads (it asked to disconnect).
     */
    public void closeNotify() throws IOException {
        writeLock.lock();
        try {
            engineLock.lock();
            try {
                ensureOpen();
                engine.closeNotify();
            } finally {
                engineLock.unlock();
            }
            flush();
        } finally {
            writeLock.unlock();
        }
    }

    // ---- closing ------------------------------------------------------------------------------

    private void ensureOpen() throws ClosedChannelException {
        if (closed) {
            throw new ClosedChannelException();
        }
    }

    @Override
    public boolean isOpen() {
        return !closed && plain.isOpen();
    }

    /**
     * Closes the socket (which wakes a reader or writer blocked on it), then, once neither is
     * inside, frees the engine and the buffers.
     */
    @Override
    public void close() throws IOException {
        closed = true;
        try {
            plain.close();
        } finally {
            release();
        }
    }

    private void release() {
        closed = true;
        readLock.lock();
        writeLock.lock();
        engineLock.lock();
        try {
            if (memory.valid()) {
                engine.close();
                memory.close();
            }
        } finally {
            engineLock.unlock();
            writeLock.unlock();
            readLock.unlock();
        }
    }
}
