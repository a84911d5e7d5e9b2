package org.nbdosgi.engine.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Extents;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.transport.MemoryTransport;

class ReplyWriterTest {
    /** Collects what would go to the client. */
    static class Sink extends MemoryTransport {
        Sink() {
            super(new byte[0]);
        }
    }

    /** "TYPE offset length [DONE]" for each structured chunk, "SIMPLE error" for each simple reply (no payload). */
    static List<String> chunks(byte[] wire) {
        ByteBuffer b = ByteBuffer.wrap(wire);
        List<String> out = new ArrayList<>();
        while (b.hasRemaining()) {
            int magic = b.getInt();
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                out.add("SIMPLE " + b.getInt());
                b.getLong();
                continue;
            }
            assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic);
            int flags = b.getShort();
            int type = b.getShort() & 0xffff;
            b.getLong();
            int len = b.getInt();
            String done = (flags & Nbd.REPLY_FLAG_DONE) != 0 ? " DONE" : "";
            switch (type) {
                case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                    long off = b.getLong();
                    b.position(b.position() + len - 8);
                    out.add("DATA " + off + " " + (len - 8) + done);
                }
                case Nbd.REPLY_TYPE_OFFSET_HOLE -> out.add("HOLE " + b.getLong() + " " + b.getInt() + done);
                case Nbd.REPLY_TYPE_NONE -> out.add("NONE" + done);
                case Nbd.REPLY_TYPE_BLOCK_STATUS -> {
                    StringBuilder s = new StringBuilder("STATUS ctx=" + b.getInt());
                    for (int i = 0; i < (len - 4) / 8; i++) {
                        s.append(' ').append(b.getInt() & 0xFFFFFFFFL).append(':').append(b.getInt());
                    }
                    out.add(s + done);
                }
                case Nbd.REPLY_TYPE_ERROR -> {
                    int err = b.getInt();
                    byte[] msg = new byte[b.getShort()];
                    b.get(msg);
                    out.add("ERROR " + err + " " + new String(msg, StandardCharsets.UTF_8) + done);
                }
                default -> throw new AssertionError("type " + type);
            }
        }
        return out;
    }

    /**
     * Lent pages of a file mapping whose file shrank under them fault when read: the reply is not
     * queued, its callback runs once, and the writer reports an I/O error (the connection ends)
     * instead of the request's thread dying with its client waiting for ever. Both scans: the
     * first block past the end, and a zero block first (the holes are split, then past the end).
     */
    @Test
    void lentPagesOfAFileThatShrankFailTheReplyAndRunItsCallbackOnce(@TempDir Path dir) throws Exception {
        for (int zeroFirst = 0; zeroFirst <= 1; zeroFirst++) {
            Path f = dir.resolve("f" + zeroFirst);
            byte[] data = new byte[64 << 10];
            Arrays.fill(data, zeroFirst * 4096, data.length, (byte) 1);
            Files.write(f, data);
            try (FileChannel channel = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ByteBuffer view = channel.map(FileChannel.MapMode.READ_ONLY, 0, data.length);
                channel.truncate(8192);
                Sink sink = new Sink();
                AtomicInteger done = new AtomicInteger();
                ReplyWriter writer = new ReplyWriter(sink, new BufferPool(), true, "test-writer");
                assertThrows(IOException.class, () -> writer.readData(1, 0, false, done::incrementAndGet, view));
                assertEquals(1, done.get(), "the callback ran once");
                assertEquals(0, sink.written.size(), "nothing went out");
            }
        }
    }

    private static ByteBuffer blocks(String pattern) {
        ByteBuffer b = ByteBuffer.allocateDirect(pattern.length() * 4096);
        for (int i = 0; i < pattern.length(); i++) {
            if (pattern.charAt(i) == 'D') {
                b.put(i * 4096 + 100, (byte) 1);
            }
        }
        return b;
    }

    @Test
    void zeroBlocksBecomeHoles() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, false, () -> { }, blocks("DZZD"));
        assertEquals(List.of("DATA 0 4096", "HOLE 4096 8192", "DATA 12288 4096", "NONE DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void dataWithoutZeroBlocksIsOneChunk() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 8192, false, () -> { }, blocks("DD"));
        assertEquals(List.of("DATA 8192 8192 DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void holesAlignToExportOffsetsAndUnalignedEdgesStayData() throws Exception {
        Sink sink = new Sink();
        ByteBuffer zeros = ByteBuffer.allocateDirect(10_000);
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 1000, false, () -> { }, zeros);
        assertEquals(List.of("DATA 1000 3096", "HOLE 4096 4096", "DATA 8192 2808", "NONE DONE"), chunks(sink.written.toByteArray()));
    }

    /** The bytes a structured read reply describes, from {@code base} on: data where sent, zeros in holes. */
    private static byte[] image(byte[] wire, long base, int length) {
        byte[] out = new byte[length];
        ByteBuffer b = ByteBuffer.wrap(wire);
        while (b.hasRemaining()) {
            b.position(b.position() + 6);
            int type = b.getShort() & 0xffff;
            b.getLong();
            int len = b.getInt();
            if (type == Nbd.REPLY_TYPE_OFFSET_DATA) {
                long at = b.getLong();
                b.get(out, (int) (at - base), len - 8);
            } else {
                b.position(b.position() + len);
            }
        }
        return out;
    }

    /** What several buffers of one reply hold, in order (as a layer lends them). */
    private static byte[] joined(ByteBuffer... parts) {
        ByteBuffer all = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(ByteBuffer::remaining).sum());
        for (ByteBuffer p : parts) {
            all.put(p.duplicate());
        }
        return all.array();
    }

    @Test
    void severalBuffersAreOneReplyWhoseHolesMayCrossThem() throws Exception {
        Sink sink = new Sink();
        ByteBuffer first = blocks("DZ");
        ByteBuffer second = blocks("ZD");
        second.put(4096 + 7, (byte) 9);
        byte[] want = joined(first, second);
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, false, () -> { }, first, second);
        assertEquals(List.of("DATA 0 4096", "HOLE 4096 8192", "DATA 12288 4096", "NONE DONE"), chunks(sink.written.toByteArray()));
        assertArrayEquals(want, image(sink.written.toByteArray(), 0, want.length));
    }

    @Test
    void aReplyHasAtMostMaxChunksContentChunksTheRestOfItsHolesSentAsData() throws Exception {
        Sink sink = new Sink();
        ByteBuffer alternating = blocks("DZ".repeat(300));
        byte[] want = joined(alternating);
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, false, () -> { }, alternating);
        List<String> chunks = chunks(sink.written.toByteArray());
        assertEquals("NONE DONE", chunks.get(chunks.size() - 1));
        assertTrue(chunks.size() - 1 <= ReplyWriter.MAX_CHUNKS, chunks.size() + " chunks");
        assertEquals("HOLE 4096 4096", chunks.get(1));
        assertEquals("DATA " + (ReplyWriter.MAX_CHUNKS - 2) * 4096 + " " + (600 - ReplyWriter.MAX_CHUNKS + 2) * 4096, chunks.get(chunks.size() - 2),
                "once the chunks run out, the rest is one data chunk");
        assertArrayEquals(want, image(sink.written.toByteArray(), 0, want.length));
    }

    @Test
    void manySmallBuffersWithHolesAreOneWholeReply() throws Exception {
        Sink sink = new Sink();
        ByteBuffer[] parts = new ByteBuffer[ReplyWriter.MAX_READ_BUFFERS];
        for (int i = 0; i < parts.length; i++) {
            parts[i] = blocks(i % 3 == 0 ? "D" : "Z");
        }
        byte[] want = joined(parts);
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, false, () -> { }, parts);
        List<String> chunks = chunks(sink.written.toByteArray());
        assertEquals(List.of("DATA 0 4096", "HOLE 4096 8192", "DATA 12288 4096"), chunks.subList(0, 3));
        assertEquals("NONE DONE", chunks.get(chunks.size() - 1));
        assertArrayEquals(want, image(sink.written.toByteArray(), 0, want.length));
    }

    @Test
    void aZeroBlockSplitBetweenTwoBuffersIsSentAsData() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, false, () -> { },
                ByteBuffer.allocateDirect(6144), ByteBuffer.allocateDirect(6144));
        assertEquals(List.of("HOLE 0 4096", "DATA 4096 4096", "HOLE 8192 4096", "NONE DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void oneDataChunkGathersEveryBufferInOrder() throws Exception {
        Sink sink = new Sink();
        ByteBuffer first = blocks("D").limit(3000);
        ByteBuffer second = blocks("DD").position(50);
        second.put(8000, (byte) 5);
        byte[] want = joined(first, second);
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 4096, false, () -> { }, first, second);
        assertEquals(List.of("DATA 4096 11142 DONE"), chunks(sink.written.toByteArray()));
        assertArrayEquals(want, image(sink.written.toByteArray(), 4096, want.length));
    }

    @Test
    void dontFragmentSendsOneChunk() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, true, () -> { }, blocks("DZZD"));
        assertEquals(List.of("DATA 0 16384 DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void readingNothingIsNeverAMalformedDataChunk() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").readData(1, 0, false, () -> { }, ByteBuffer.allocateDirect(0));
        assertEquals(List.of("NONE DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void simpleRepliesCarryTheDataAsIs() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), false, "test-writer").readData(7, 0, false, () -> { }, blocks("ZD"));
        ByteBuffer b = ByteBuffer.wrap(sink.written.toByteArray());
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, b.getInt());
        assertEquals(0, b.getInt());
        assertEquals(7, b.getLong());
        assertEquals(8192, b.remaining());
    }

    @Test
    void simpleRepliesGatherSeveralBuffersInOrder() throws Exception {
        Sink sink = new Sink();
        ByteBuffer first = blocks("D");
        ByteBuffer second = blocks("ZD").position(4000);
        byte[] want = joined(first, second);
        new ReplyWriter(sink, new BufferPool(), false, "test-writer").readData(7, 0, false, () -> { }, first, second);
        ByteBuffer b = ByteBuffer.wrap(sink.written.toByteArray());
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, b.getInt());
        assertEquals(0, b.getInt());
        assertEquals(7, b.getLong());
        byte[] got = new byte[b.remaining()];
        b.get(got);
        assertArrayEquals(want, got);
    }

    @Test
    void blockStatusHonoursReqOneAnd32BitLengths() throws Exception {
        Extents e = new Extents(0, Long.MAX_VALUE);
        e.add(0, 10L << 32, Extents.HOLE | Extents.ZERO);
        e.add(10L << 32, 4096, 0);
        Sink one = new Sink();
        new ReplyWriter(one, new BufferPool(), true, "test-writer").blockStatus(1, new Extents[] {e}, 65536, true, () -> { });
        assertEquals(List.of("STATUS ctx=1 65536:3 DONE"), chunks(one.written.toByteArray()));
        Sink all = new Sink();
        new ReplyWriter(all, new BufferPool(), true, "test-writer").blockStatus(1, new Extents[] {e}, 65536, false, () -> { });
        assertEquals(List.of("STATUS ctx=1 4294966784:3 DONE"), chunks(all.written.toByteArray()));
    }

    @Test
    void blockStatusSendsOneChunkPerMetaContextTheLastOneDone() throws Exception {
        Extents allocation = new Extents(0, 1 << 20);
        allocation.add(0, 1 << 20, 0);
        Extents dirty = new Extents(0, 1 << 20);
        dirty.add(0, 65536, Extents.DIRTY);
        dirty.add(65536, (1 << 20) - 65536, 0);
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").blockStatus(9, new Extents[] {allocation, dirty}, 1 << 20, false, () -> { });
        assertEquals(List.of("STATUS ctx=1 1048576:0", "STATUS ctx=2 65536:1 983040:0 DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void structuredErrorsCarryTheMessage() throws Exception {
        Sink sink = new Sink();
        new ReplyWriter(sink, new BufferPool(), true, "test-writer").error(3, 28, "no space", () -> { });
        assertEquals(List.of("ERROR 28 no space DONE"), chunks(sink.written.toByteArray()));
    }

    @Test
    void successRepliesAreEncodedAsTheProtocolSays() throws Exception {
        Sink simple = new Sink();
        ReplyWriter w = new ReplyWriter(simple, new BufferPool(), false, "test-writer");
        w.ok(7, () -> { });
        w.readData(8, 4096, false, () -> { }, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        ByteBuffer b = ByteBuffer.wrap(simple.written.toByteArray());
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, b.getInt());
        assertEquals(0, b.getInt());
        assertEquals(7, b.getLong());
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, b.getInt());
        assertEquals(0, b.getInt());
        assertEquals(8, b.getLong());
        assertEquals(3, b.get(b.position() + 2));
        assertEquals(16 + 16 + 3, b.limit());

        // with structured replies a read's reply is a chunk, even of nothing; any other success a simple reply
        Sink structured = new Sink();
        w = new ReplyWriter(structured, new BufferPool(), true, "test-writer");
        w.ok(7, () -> { });
        w.readData(8, 4096, false, () -> { }, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        w.readData(9, 0, false, () -> { }, ByteBuffer.allocate(0));
        assertEquals(List.of("SIMPLE 0", "DATA 4096 3 DONE", "NONE DONE"), chunks(structured.written.toByteArray()));
    }

    /** Records which kind of thread wrote. */
    static class WhoWrites extends Sink {
        final List<Boolean> virtual = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws java.io.IOException {
            virtual.add(Thread.currentThread().isVirtual());
            return super.write(srcs, offset, length);
        }
    }

    @Test
    void largeReadRepliesFromVirtualThreadsAreWrittenByThePlatformWriter() throws Exception {
        assertEquals(List.of(false), whoWritesReadReply(ReplyWriter.HAND_OVER_BYTES / 4096));
        assertEquals(List.of(true), whoWritesReadReply(1));                // small: the request's own thread
    }

    /** Whether the thread that wrote a read reply of {@code blocks} 4 KiB blocks, queued by a virtual thread, was virtual. */
    private static List<Boolean> whoWritesReadReply(int blocks) throws Exception {
        WhoWrites sink = new WhoWrites();
        ReplyWriter w = new ReplyWriter(sink, new BufferPool(), true, "test-writer");
        java.util.concurrent.CountDownLatch written = new java.util.concurrent.CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            try {
                w.readData(1, 0, false, written::countDown, blocks("D".repeat(blocks)));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }).join();
        written.await();
        w.release();
        return sink.virtual;
    }

    @Test
    void repliesFromManyThreadsGoOutWholeAndEachCallbackRunsOnce() throws Exception {
        Sink sink = new Sink();
        ReplyWriter w = new ReplyWriter(sink, new BufferPool(), true, "test-writer");
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int base = t * 1000;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 200; i++) {
                    try {
                        w.readData(base + i, 0, false, done::incrementAndGet, blocks("D"));
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(1600, done.get());
        List<String> got = chunks(sink.written.toByteArray());
        assertEquals(1600, got.size());
        assertEquals(true, got.stream().allMatch(c -> c.equals("DATA 0 4096 DONE")));
    }

    @Test
    void aFailedSocketDropsEveryReplyAndStillRunsItsCallback() throws Exception {
        ReplyWriter w = new ReplyWriter(new Sink() {
            @Override
            public long write(ByteBuffer[] srcs, int offset, int length) throws java.io.IOException {
                throw new java.io.IOException("client gone");
            }
        }, new BufferPool(), false, "test-writer");
        int[] done = new int[1];
        for (int i = 0; i < 3; i++) {
            org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> w.ok(1, () -> done[0]++));
        }
        assertEquals(3, done[0]);
    }

    @Test
    void pooledBuffersComeBackWithTheAskedLimit() {
        BufferPool pool = new BufferPool();
        ByteBuffer a = pool.acquire(5000);
        assertEquals(5000, a.limit());
        assertEquals(8192, a.capacity());
        pool.release(a);
        ByteBuffer b = pool.acquire(6000);
        assertEquals(6000, b.limit());
        assertEquals(0, b.position());
    }

    @Test
    void aBufferThePoolDoesNotKeepIsFreedAtOnce() {
        BufferPool pool = new BufferPool();
        ByteBuffer kept = pool.acquire(64 << 20);
        ByteBuffer dropped = pool.acquire(64 << 20);
        assertEquals(2, pool.outstanding());
        pool.release(kept);
        pool.release(dropped);                            // one 64 MiB buffer is all the pool keeps of that size
        assertEquals(0, pool.outstanding());
        if (Runtime.version().feature() >= 22) {
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> dropped.get(0),
                    "its memory went back at once: using it fails instead of touching freed memory");
        }
        ByteBuffer again = pool.acquire(40 << 20);
        assertEquals(64 << 20, again.capacity());
        again.put(0, (byte) 1);                           // the kept one, still usable
    }

    /**
     * A transport whose writes without waiting take {@code now} bytes in all and then nothing, as a
     * socket that fills up ({@code now} -1: it cannot write without waiting), noting which threads wrote.
     */
    static class LimitedSink extends Sink {
        long now;
        final List<Thread> waitingWriters = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<Thread> immediateWriters = new java.util.concurrent.CopyOnWriteArrayList<>();

        LimitedSink(int now) {
            this.now = now;
        }

        @Override
        public synchronized long write(ByteBuffer[] srcs, int offset, int length) throws java.io.IOException {
            waitingWriters.add(Thread.currentThread());
            return super.write(srcs, offset, length);
        }

        @Override
        public synchronized long tryWrite(ByteBuffer[] srcs, int offset, int length) throws java.io.IOException {
            if (now < 0) {
                return -1;
            }
            immediateWriters.add(Thread.currentThread());
            long n = 0;
            for (int i = offset; i < offset + length && n < now; i++) {
                ByteBuffer part = srcs[i].slice();
                part.limit((int) Math.min(part.remaining(), now - n));
                byte[] b = new byte[part.remaining()];
                part.get(b);
                written.writeBytes(b);
                srcs[i].position(srcs[i].position() + b.length);
                n += b.length;
            }
            now -= n;
            return n;
        }
    }

    @Test
    void theReadersRepliesWaitForItsFlushAndGoToAnotherThreadWhenTheTransportCannotWriteWithoutWaiting() throws Exception {
        BufferPool pool = new BufferPool();
        LimitedSink sink = new LimitedSink(-1);
        ReplyWriter w = new ReplyWriter(sink, pool, true, "test-writer");
        w.neverWriteOn(Thread.currentThread());
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        w.error(5, 22, "refused", done::countDown);
        assertEquals(0, sink.written.size(), "queued until the reader flushes");
        w.flushQueued();
        org.junit.jupiter.api.Assertions.assertTrue(done.await(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(1, sink.waitingWriters.size());
        org.junit.jupiter.api.Assertions.assertNotSame(Thread.currentThread(), sink.waitingWriters.get(0),
                "another thread wrote the reader's reply");
        assertEquals(List.of("ERROR 22 refused DONE"), chunks(sink.written.toByteArray()));
        w.release();
        assertEquals(0, pool.outstanding(), "the writer's own buffer is back");
    }

    @Test
    void theReaderWritesWhatTheTransportTakesNowInOneCallAndNeverWaits() throws Exception {
        LimitedSink sink = new LimitedSink(Integer.MAX_VALUE);
        ReplyWriter w = new ReplyWriter(sink, new BufferPool(), true, "test-writer");
        w.neverWriteOn(Thread.currentThread());
        int[] done = new int[1];
        w.ok(1, () -> done[0]++);
        w.readData(2, 8192, false, () -> done[0]++, ByteBuffer.allocateDirect(4096).put(0, (byte) 1));
        w.flushQueued();
        assertEquals(2, done[0], "both replies written before the flush returned");
        assertEquals(List.of(Thread.currentThread()), sink.immediateWriters, "one write, on the reader, for both");
        assertEquals(List.of(), sink.waitingWriters);
        assertEquals(List.of("SIMPLE 0", "DATA 8192 4096 DONE"), chunks(sink.written.toByteArray()));
        w.release();
    }

    @Test
    void whatTheTransportDoesNotTakeNowAnotherThreadFinishesWholeAndInOrder() throws Exception {
        BufferPool pool = new BufferPool();
        LimitedSink sink = new LimitedSink(30);                // part of the first reply's header, then full
        ReplyWriter w = new ReplyWriter(sink, pool, true, "test-writer");
        w.neverWriteOn(Thread.currentThread());
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(3);
        w.readData(1, 0, true, done::countDown, ByteBuffer.allocateDirect(8192).put(0, (byte) 1));
        w.ok(2, done::countDown);
        w.error(3, 5, "bad", done::countDown);
        w.flushQueued();
        org.junit.jupiter.api.Assertions.assertTrue(done.await(10, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(Thread.currentThread(), sink.immediateWriters.get(0));
        assertEquals(1, sink.immediateWriters.stream().filter(t -> t == Thread.currentThread()).count(), "the reader tried once");
        org.junit.jupiter.api.Assertions.assertFalse(sink.waitingWriters.isEmpty(), "the writer thread waited for room");
        org.junit.jupiter.api.Assertions.assertFalse(sink.waitingWriters.contains(Thread.currentThread()), "the reader never waits");
        assertEquals(List.of("DATA 0 8192 DONE", "SIMPLE 0", "ERROR 5 bad DONE"), chunks(sink.written.toByteArray()));
        w.release();
        assertEquals(0, pool.outstanding());
    }
}
