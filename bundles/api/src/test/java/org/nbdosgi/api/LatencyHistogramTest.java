package org.nbdosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LatencyHistogramTest {

    @Test
    void everyDurationLandsInTheFirstBucketWhoseBoundHoldsIt() {
        for (long nanos : new long[] {0, 1, 2047, 2048, 2049, 3071, 3072, 3073, 4096, 4097, 1_000_000, 1L << 34, (1L << 35) - 1, 1L << 35}) {
            int b = LatencyHistogram.bucket(nanos);
            assertTrue(nanos <= LatencyHistogram.upperBoundNanos(b), nanos + " above bucket " + b);
            if (b > 0) {
                assertTrue(nanos > LatencyHistogram.upperBoundNanos(b - 1), nanos + " fits bucket " + (b - 1));
            }
        }
        assertEquals(LatencyHistogram.BUCKETS - 1, LatencyHistogram.bucket((1L << 35) + 1));
        assertEquals(LatencyHistogram.BUCKETS - 1, LatencyHistogram.bucket(Long.MAX_VALUE));
    }

    @Test
    void boundsGrowByHalfAndThirdAlternately() {
        for (int i = 1; i < LatencyHistogram.BUCKETS - 1; i++) {
            assertTrue(LatencyHistogram.upperBoundNanos(i) > LatencyHistogram.upperBoundNanos(i - 1));
        }
        assertEquals(3072, LatencyHistogram.upperBoundNanos(1));
        assertEquals(4096, LatencyHistogram.upperBoundNanos(2));
    }

    @Test
    void countsSumsAndQuantiles() {
        LatencyHistogram h = new LatencyHistogram();
        for (int i = 0; i < 90; i++) {
            h.record(10_000);                      // 10 us
        }
        for (int i = 0; i < 10; i++) {
            h.record(5_000_000);                   // 5 ms
        }
        assertEquals(100, h.count());
        assertEquals(90 * 10_000L + 10 * 5_000_000L, h.sumNanos());
        long p50 = LatencyHistogram.quantileNanos(h.bucketCounts(), 0.5);
        long p99 = LatencyHistogram.quantileNanos(h.bucketCounts(), 0.99);
        assertTrue(p50 > 8_000 && p50 <= 12_288, "p50 " + p50);
        assertTrue(p99 > 4_000_000 && p99 <= 6_291_456, "p99 " + p99);
        assertEquals(-1, LatencyHistogram.quantileNanos(new long[LatencyHistogram.BUCKETS], 0.5));

        LatencyHistogram total = new LatencyHistogram();
        total.add(h);
        total.add(h);
        assertEquals(200, total.count());
        assertEquals(2 * h.sumNanos(), total.sumNanos());
    }
}
