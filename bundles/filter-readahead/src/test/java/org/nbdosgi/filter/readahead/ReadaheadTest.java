package org.nbdosgi.filter.readahead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Support;

class ReadaheadTest {
    private static final long K = 1024;
    private static final long M = K * K;

    @Test
    void theWindowGrowsWhileReadsStaySequentialAndResetsOnARandomRead() {
        Window w = new Window();
        assertNull(w.read(0, 64 * K, 1 << 30), "the first read of a stream prefetches nothing");
        assertEquals(new Window.Range(128 * K, 128 * K + 256 * K), w.read(64 * K, 64 * K, 1 << 30));
        assertEquals(new Window.Range(384 * K, 192 * K + 512 * K), w.read(128 * K, 64 * K, 1 << 30));
        for (int i = 3; i < 20; i++) {
            w.read(i * 64 * K, 64 * K, 1 << 30);
        }
        assertEquals(Window.MAX, w.window(), "doubled up to the maximum");
        assertNull(w.read(700 * M, 4 * K, 1 << 30), "a random read prefetches nothing");
        assertEquals(Window.MIN, w.window(), "and resets the window");
        assertNull(w.read(3 * M, 4 * K, 1 << 30));
        assertNull(w.read(90 * M, 4 * K, 1 << 30), "random reads never prefetch");
    }

    @Test
    void randomReadsCloseToEachOtherStartNoStream() {
        Window w = new Window();
        w.read(0, 4 * K, 1 << 30);
        assertNull(w.read(8 * K, 4 * K, 1 << 30));
        assertNull(w.read(4 * K, 4 * K, 1 << 30));
        assertNull(w.read(100 * K, 4 * K, 1 << 30));
        assertEquals(Window.MIN, w.window());
    }

    @Test
    void readsArrivingSlightlyOutOfOrderStaySequential() {
        Window w = new Window();
        w.read(0, M, 1 << 30);
        w.read(M, M, 1 << 30);
        w.read(3 * M, M, 1 << 30);                     // a later read overtook the one at 2M
        w.read(2 * M, M, 1 << 30);
        w.read(4 * M, M, 1 << 30);
        assertEquals(Window.MIN << 4, w.window(), "four sequential reads after the first");
    }

    @Test
    void prefetchesStopAtTheEndAndAreNotAskedTwice() {
        Window w = new Window();
        w.read(0, 64 * K, M);
        assertEquals(new Window.Range(128 * K, 384 * K), w.read(64 * K, 64 * K, M));
        Window.Range r = w.read(128 * K, 64 * K, M);
        assertEquals(384 * K, r.from(), "starts where the last prefetch ended");
        assertEquals(M, w.read(192 * K, 64 * K, M).to(), "clipped at the export's end");
        assertNull(w.read(256 * K, 64 * K, M), "everything up to the end was asked for already");
    }

    /** The layer below: counts cache requests and their sizes; a cache request can be held until released. */
    static final class Below implements Layer {
        final List<long[]> caches = new ArrayList<>();
        final Support cache;
        volatile CountDownLatch hold;

        Below(Support cache) {
            this.cache = cache;
        }

        @Override
        public Handle open(ClientContext client) {
            return new Handle() {
                @Override
                public long size() {
                    return 1L << 30;
                }

                @Override
                public Support canCache() {
                    return cache;
                }

                @Override
                public void read(ByteBuffer buf, long offset, int flags) {
                }

                @Override
                public void cache(long offset, long length, int flags) throws java.io.IOException {
                    synchronized (caches) {
                        caches.add(new long[] {offset, length});
                    }
                    CountDownLatch h = hold;
                    if (h != null) {
                        try {
                            h.await();
                        } catch (InterruptedException e) {
                            throw new java.io.InterruptedIOException();
                        }
                    }
                }
            };
        }

        @Override
        public List<ExportEntry> listExports(boolean readOnly) {
            return List.of();
        }

        @Override
        public String defaultExport() {
            return "";
        }

        int count() {
            synchronized (caches) {
                return caches.size();
            }
        }
    }

    private static Handle open(Below below) throws Exception {
        return new ReadaheadFilter().create(Config.empty(), new ExportContext("", true), below)
                .open(new ClientContext("", true, "test", 1));
    }

    private static void readSequentially(Handle h, int reads, long size) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect((int) size);
        for (int i = 0; i < reads; i++) {
            h.read(b.clear(), i * size, 0);
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    @Test
    void sequentialReadsSendCacheRequestsBelowInChunksOfAtMostFourMib() throws Exception {
        Below below = new Below(Support.NATIVE);
        ReadaheadHandle h = (ReadaheadHandle) open(below);
        ByteBuffer buf = ByteBuffer.allocateDirect((int) (256 * K));
        for (int i = 0; i < 40; i++) {
            h.read(buf.clear(), i * 256 * K, 0);
            waitFor(() -> h.running() == 0);            // no read finds the slots taken: every range is asked at once
        }
        h.close();
        long total = 0;
        long next = 512 * K;
        synchronized (below.caches) {
            for (long[] c : below.caches) {
                assertTrue(c[1] <= ReadaheadHandle.CHUNK, "chunk of " + c[1]);
                total += c[1];
            }
            below.caches.sort((a, b) -> Long.compare(a[0], b[0]));
            for (long[] c : below.caches) {
                assertEquals(next, c[0], "contiguous, nothing asked twice");
                next = c[0] + c[1];
            }
        }
        assertEquals(40 * 256 * K + Window.MAX - 512 * K, total, "up to the window ahead of the last read");
    }

    @Test
    void withoutACacheBelowNothingIsPrefetched() throws Exception {
        Below below = new Below(Support.EMULATE);
        Handle h = open(below);
        readSequentially(h, 20, 256 * K);
        h.close();
        assertEquals(0, below.count());
    }

    @Test
    void closeWaitsForThePrefetchesInFlightAndAtMostEightRunAtOnce() throws Exception {
        Below below = new Below(Support.NATIVE);
        below.hold = new CountDownLatch(1);
        Handle h = open(below);
        readSequentially(h, 12, M);                   // windows of many MiB: more chunks than slots
        waitFor(() -> below.count() == ReadaheadHandle.MAX_CHUNKS);
        Thread.sleep(100);
        assertEquals(ReadaheadHandle.MAX_CHUNKS, below.count(), "eight prefetches in flight, no more");
        Thread closer = Thread.ofVirtual().start(() -> {
            try {
                h.close();
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        });
        assertFalse(closer.join(java.time.Duration.ofMillis(300)), "close waits while prefetches run");
        below.hold.countDown();
        assertTrue(closer.join(java.time.Duration.ofSeconds(30)), "and returns once they are done");
    }
}
