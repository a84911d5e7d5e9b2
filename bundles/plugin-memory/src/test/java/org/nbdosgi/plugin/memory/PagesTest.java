package org.nbdosgi.plugin.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SIZE;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;

import org.junit.jupiter.api.Test;

/** The page tree's memory: trimmed and zeroed regions give their tree nodes back, even under concurrent writes. */
class PagesTest {
    private static final long DISK = 7L << 60;                 // four levels: three nodes below the root per region
    private static final int FAN = 4096;                        // pages per leaf node

    private static ByteBuffer filled(int n, int value) {
        ByteBuffer b = ByteBuffer.allocateDirect(n);
        for (int i = 0; i < n; i++) {
            b.put(i, (byte) value);
        }
        return b;
    }

    private static int byteAt(Pages pages, long offset) {
        ByteBuffer b = ByteBuffer.allocateDirect(1);
        pages.read(b, offset);
        return b.get(0);
    }

    /** What the views hold, in order. */
    private static ByteBuffer joined(ByteBuffer[] views) {
        int n = 0;
        for (ByteBuffer v : views) {
            n += v.remaining();
        }
        ByteBuffer all = ByteBuffer.allocate(n);
        for (ByteBuffer v : views) {
            all.put(v.duplicate());
        }
        return all.flip();
    }

    @Test
    void lentViewsHoldWhatAReadCopiesOverPagesAndHoles() throws Exception {
        Pages pages = Pages.empty(1L << 30);
        ByteBuffer data = ByteBuffer.allocateDirect(3 * PAGE_SIZE);
        for (int i = 0; i < data.capacity(); i++) {
            data.put(i, (byte) (i * 31 + 7));
        }
        pages.write(data.slice(0, PAGE_SIZE + 100), 5L * PAGE_SIZE - 50);   // pages 4, 5 and the start of 6
        pages.write(data.slice(0, 1000), 300L * PAGE_SIZE + 10);
        long offset = 4L * PAGE_SIZE + 123;
        int length = 297 * PAGE_SIZE;                                     // through holes to page 300 and past it
        ByteBuffer copied = ByteBuffer.allocateDirect(length);
        pages.read(copied, offset);
        ByteBuffer[] views = pages.lend(offset, length);
        assertEquals(copied, joined(views));
        assertTrue(views.length < 20, "a run of missing pages is lent as one view of zeros, not one per page: " + views.length);
    }

    @Test
    void aLentPageKeepsItsBytesWhenTrimmedWhileLent() throws Exception {
        Pages pages = Pages.empty(1L << 20);
        pages.write(filled(PAGE_SIZE, 3), 0);
        ByteBuffer[] views = pages.lend(0, PAGE_SIZE);
        pages.zero(0, PAGE_SIZE);
        assertEquals(0, pages.allocated());
        assertEquals(filled(PAGE_SIZE, 3), joined(views), "a trimmed page is dropped, never reused while viewed");
        assertEquals(0, byteAt(pages, 0));
    }

    @Test
    void trimmingEveryRegionWrittenGivesBackTheirNodes() throws Exception {
        Pages pages = Pages.empty(DISK);
        for (int i = 0; i < 50; i++) {
            pages.write(filled(4096, 1), (long) i << 55);
        }
        assertEquals(1 + 50 * 3, pages.nodes(), "each region far from the others has a node on every level");
        for (int i = 0; i < 50; i++) {
            pages.zero((long) i << 55, PAGE_SIZE);
        }
        assertEquals(0, pages.allocated());
        assertEquals(1, pages.nodes(), "only the root is left");
    }

    @Test
    void aNodeStaysWhileItHoldsAPageAndGoesWithItsLast() throws Exception {
        Pages pages = Pages.empty(DISK);
        long leaf = 5L << 50;
        pages.write(filled(10, 7), leaf);
        pages.write(filled(10, 8), leaf + 3L * PAGE_SIZE);
        pages.write(filled(10, 9), leaf + (long) FAN * PAGE_SIZE);   // the next leaf, same parent
        assertEquals(5, pages.nodes());
        pages.zero(leaf, PAGE_SIZE);
        assertEquals(5, pages.nodes(), "the leaf still holds a page");
        assertEquals(8, byteAt(pages, leaf + 3L * PAGE_SIZE));
        pages.zero(leaf + 3L * PAGE_SIZE, PAGE_SIZE);
        assertEquals(4, pages.nodes(), "the emptied leaf is gone, its parent holds the other leaf");
        pages.zero(leaf, 2L * FAN * PAGE_SIZE);
        assertEquals(1, pages.nodes());
        pages.write(filled(10, 6), leaf);
        assertEquals(6, byteAt(pages, leaf), "a pruned region is written again like a new one");
    }

    @Test
    void zeroingAWholeHugeDiskSkipsItsHolesAndFreesEverything() throws Exception {
        Pages pages = Pages.empty(Long.MAX_VALUE);
        pages.write(filled(PAGE_SIZE, 3), 1L << 40);
        pages.write(filled(PAGE_SIZE, 3), Long.MAX_VALUE - PAGE_SIZE * 2L);
        pages.zero(0, Long.MAX_VALUE);                             // 2^48 pages: only the two written are visited
        assertEquals(0, pages.allocated());
        assertEquals(1, pages.nodes());
    }

    @Test
    void aPartialZeroKeepsThePageAndItsNode() throws Exception {
        Pages pages = Pages.empty(DISK);
        pages.write(filled(PAGE_SIZE, 4), 0);
        pages.zero(100, 200);
        assertEquals(1, pages.allocated());
        assertEquals(4, pages.nodes());
        assertEquals(0, byteAt(pages, 100));
        assertEquals(4, byteAt(pages, 300));
    }

    /**
     * Writers and trimmers race on pages of the same leaves and of sibling leaves, so leaves and
     * their parents are pruned while other threads install pages into them. Each thread owns its
     * pages: whatever it wrote must read back until it trims it, and read as zeros after.
     */
    @Test
    void pruningNeverLosesAPageAConcurrentWriterInstalls() throws Exception {
        int threads = 4;
        int rounds = 3000;
        Pages pages = Pages.empty(DISK);
        long base = 3L << 50;
        ConcurrentLinkedQueue<String> lost = new ConcurrentLinkedQueue<>();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int me = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    ByteBuffer one = ByteBuffer.allocateDirect(1);
                    for (int r = 0; r < rounds; r++) {
                        // even rounds share one leaf; odd rounds use sibling leaves under one parent
                        long page = r % 2 == 0 ? me : (long) (me + 1) * FAN + me;
                        long at = base + page * PAGE_SIZE;
                        int value = 1 + (r + me) % 120;
                        one.put(0, (byte) value);
                        pages.write(one.duplicate(), at);
                        if (byteAt(pages, at) != value) {
                            lost.add("thread " + me + " round " + r + ": the write is gone");
                        }
                        pages.zero(at, PAGE_SIZE);
                        if (byteAt(pages, at) != 0) {
                            lost.add("thread " + me + " round " + r + ": the trim did not take");
                        }
                    }
                } catch (Exception e) {
                    lost.add(e.toString());
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        assertTrue(lost.isEmpty(), lost.size() + " failures, e.g. " + lost.peek());
        assertEquals(0, pages.allocated());
        assertEquals(1, pages.nodes(), "the last trims pruned every node");
    }
}
