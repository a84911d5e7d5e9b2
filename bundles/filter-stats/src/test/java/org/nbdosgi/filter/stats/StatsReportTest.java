package org.nbdosgi.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StatsReportTest {
    private static final long SECOND = 1_000_000_000L;

    /** 19 reads of 4 KiB at k * 4 KiB, one of 512 bytes at 0; 39 writes at odd multiples of 8 KiB, one at 1 MiB; a flush. */
    private static Counters knownWorkload() {
        Counters c = new Counters(0, true);
        for (int k = 1; k <= 19; k++) {
            c.record(Op.READ, k * 4096L, 4096, 1000);
        }
        c.record(Op.READ, 0, 512, 1000);
        for (int k = 1; k < 79; k += 2) {
            c.record(Op.WRITE, k * 8192L, 4096, 2000);
        }
        c.record(Op.WRITE, 1 << 20, 4096, 2000);
        c.record(Op.FLUSH, 0, 0, 1000);
        return c;
    }

    @Test
    void formatsTotalsRatesAndHistogramsAsNbdkitDoes() {
        String expected = """
                total: 61 ops, 2.000000 s, 236.50 KiB, 118.25 KiB/s
                read: 20 ops, 0.000020 s, 76.50 KiB, 3.65 GiB/s op, 38.25 KiB/s total
                  Request size and alignment breakdown:
                    12 bits: 95.0% (19 reqs, 76.00 KiB total)
                         12 bit aligned: 100.0% (19)
                         13 bit aligned:  47.4% (9)
                         14 bit aligned:  21.1% (4)
                         15 bit aligned:  10.5% (2)
                         16 bit aligned:   5.3% (1)
                    other sizes:  5.0% (1 reqs, 512 bytes total)

                write: 40 ops, 0.000080 s, 160.00 KiB, 1.91 GiB/s op, 80.00 KiB/s total
                  Request size and alignment breakdown:
                    12 bits: 100.0% (40 reqs, 160.00 KiB total)
                         13 bit aligned: 100.0% (40)
                         20+ bit-aligned:  2.5% (1)

                flush: 1 ops, 0.000001 s, 0 bytes, 0 bytes/s op, 0 bytes/s total
                """;
        assertEquals(expected, StatsReport.format(knownWorkload().snapshot(2 * SECOND), 95));
    }

    @Test
    void thresholdHundredListsEverySizeClassEvenWithEqualCounts() {
        Counters c = new Counters(0, true);
        c.record(Op.READ, 512, 512, 10);
        c.record(Op.READ, 4096, 3000, 10);
        c.record(Op.READ, 3, 65535, 10);
        c.record(Op.READ, 0, 65536, 10);
        String text = StatsReport.format(c.snapshot(SECOND), 100);
        assertTrue(text.contains("""
                  Request size and alignment breakdown:
                     9 bits: 25.0% (1 reqs, 512 bytes total)
                          9 bit aligned: 100.0% (1)
                    11 bits: 25.0% (1 reqs, 2.93 KiB total)
                         12 bit aligned: 100.0% (1)
                    15 bits: 25.0% (1 reqs, 64.00 KiB total)
                          0 bit aligned: 100.0% (1)
                    16 bits: 25.0% (1 reqs, 64.00 KiB total)

                """), text);
    }

    @Test
    void thresholdZeroPrintsOnlyTheOperationLines() {
        String text = StatsReport.format(knownWorkload().snapshot(2 * SECOND), 0);
        assertEquals(4, text.lines().count(), text);
        assertEquals("read: 20 ops, 0.000020 s, 76.50 KiB, 3.65 GiB/s op, 38.25 KiB/s total", text.lines().toList().get(1));
    }

    @Test
    void noRequestsYetIsJustTheTotalLine() {
        assertEquals("total: 0 ops, 1.500000 s, 0 bytes, 0 bytes/s\n", StatsReport.format(new Counters(0, true).snapshot(SECOND * 3 / 2), 95));
    }

    @Test
    void theTotalCountsExtentsButNotCacheAsNbdkitDoesAndNeithersBytes() {
        Counters c = new Counters(0, false);
        c.record(Op.EXTENTS, 0, 1 << 30, 1000);
        c.record(Op.CACHE, 0, 1 << 20, 0);
        c.record(Op.TRIM, 0, 1 << 20, 1000);
        String text = StatsReport.format(c.snapshot(SECOND), 95);
        assertEquals("""
                total: 2 ops, 1.000000 s, 1.00 MiB, 1.00 MiB/s
                trim: 1 ops, 0.000001 s, 1.00 MiB, 976.56 GiB/s op, 1.00 MiB/s total
                extents: 1 ops, 0.000001 s, 1.00 GiB, 1000000.00 GiB/s op, 1.00 GiB/s total
                cache: 1 ops, 0.000000 s, 1.00 MiB, (n/a)/s op, 1.00 MiB/s total
                """, text);
    }

    @Test
    void humanSizes() {
        assertEquals("1023 bytes", StatsReport.size(1023));
        assertEquals("1.00 KiB", StatsReport.size(1024));
        assertEquals("1.50 MiB", StatsReport.size(1.5 * 1024 * 1024));
        assertEquals("2048.00 GiB", StatsReport.size(2048.0 * 1024 * 1024 * 1024));
    }
}
