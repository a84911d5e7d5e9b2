package org.nbdosgi.filter.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class CountersTest {
    private static Snapshot.OpTotals of(Snapshot s, Op op) {
        return s.ops().get(op.ordinal());
    }
    @Test
    void concurrentRecordsAllCount() throws Exception {
        Counters c = new Counters(0, true);
        int threads = 8;
        int each = 50_000;
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long base = t;
            started.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < each; i++) {
                    c.record(Op.READ, (base * each + i) * 4096, 4096, 3);
                }
            }));
        }
        for (Thread t : started) {
            t.join();
        }
        Snapshot.OpTotals read = of(c.snapshot(1), Op.READ);
        assertEquals((long) threads * each, read.ops());
        assertEquals((long) threads * each * 4096, read.bytes());
        assertEquals((long) threads * each * 3, read.nanos());
        long inClass12 = 0;
        for (int a = 0; a < SizeHistogram.ALIGNMENTS; a++) {
            inClass12 += read.requestsBySizeAndAlignment()[12 * SizeHistogram.ALIGNMENTS + a];
        }
        assertEquals((long) threads * each, inClass12);
        assertEquals((long) threads * each * 4096, read.bytesBySize()[12]);
    }

    @Test
    void sizeClassesAndAlignments() {
        assertEquals(12, SizeHistogram.sizeClass(4096));
        assertEquals(12, SizeHistogram.sizeClass(8191));
        assertEquals(11, SizeHistogram.sizeClass(3000));
        assertEquals(0, SizeHistogram.sizeClass(1));
        assertEquals(0, SizeHistogram.sizeClass(0));
        assertEquals(62, SizeHistogram.sizeClass(Long.MAX_VALUE / 2 + 1));
        assertEquals(SizeHistogram.ANY_ALIGNMENT, SizeHistogram.alignment(0));
        assertEquals(0, SizeHistogram.alignment(4097));
        assertEquals(20, SizeHistogram.alignment(1 << 20));
    }

    @Test
    void stateRoundTripCarriesEveryCount() {
        Counters c = new Counters(42, true);
        c.record(Op.WRITE, 8192, 4096, 7);
        c.record(Op.FLUSH, 0, 0, 5);
        Counters copy = Counters.fromState(Counters.toState(c.snapshot(100), 100), true);
        Snapshot a = c.snapshot(100);
        Snapshot b = copy.snapshot(100);
        assertEquals(a.elapsedNanos(), b.elapsedNanos());
        for (Op op : Op.ALL) {
            assertEquals(of(a, op).ops(), of(b, op).ops(), op.label);
            assertEquals(of(a, op).bytes(), of(b, op).bytes(), op.label);
            assertEquals(of(a, op).nanos(), of(b, op).nanos(), op.label);
            assertArrayEquals(of(a, op).requestsBySizeAndAlignment(), of(b, op).requestsBySizeAndAlignment(), op.label);
        }
        assertNull(of(Counters.fromState(Counters.toState(c.snapshot(100), 100), false).snapshot(100), Op.WRITE).requestsBySizeAndAlignment());
    }
}
