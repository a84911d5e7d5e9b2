package org.nbdosgi.filter.ext2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

class KnownRunsTest {
    private static Run data(long offset, long length, long physical) {
        return new Run(offset, length, physical, Run.Kind.DATA);
    }

    private static Run hole(long offset, long length) {
        return new Run(offset, length, -1, Run.Kind.HOLE);
    }

    @Test
    void findsOnlyWhatIsWhollyKnown() {
        KnownRuns known = new KnownRuns();
        assertNull(known.find(0, 1));
        known.record(List.of(data(0, 4096, 8192), hole(4096, 4096)));
        known.record(List.of(data(16384, 4096, 100_000)));
        assertEquals(List.of(data(100, 3996, 8292), hole(4096, 100)), known.find(100, 4096));
        assertEquals(List.of(data(16384 + 10, 20, 100_010)), known.find(16384 + 10, 20));
        assertNull(known.find(4096, 8192), "a gap between 8192 and 16384 is unknown");
        assertNull(known.find(16384, 8192), "beyond the last known run");
    }

    @Test
    void newAnswersReplaceWhatTheyCoverAndJoinTheirNeighbours() {
        KnownRuns known = new KnownRuns();
        known.record(List.of(data(0, 4096, 8192), hole(4096, 8192), data(12288, 4096, 50_000)));
        // an allocation filled the middle of the hole, right after the first run on disk
        known.record(List.of(data(4096, 4096, 12288)));
        assertEquals(List.of(data(0, 8192, 8192), hole(8192, 4096), data(12288, 4096, 50_000)), known.find(0, 16384));
        assertEquals(3, known.size());
        // and the rest of it, elsewhere on disk
        known.record(List.of(data(8192, 4096, 90_000)));
        assertEquals(List.of(data(0, 8192, 8192), data(8192, 4096, 90_000), data(12288, 4096, 50_000)), known.find(0, 16384));
    }

    @Test
    void knowledgeIsBoundedByDroppingTheOldest() {
        KnownRuns known = new KnownRuns();
        List<Run> many = new java.util.ArrayList<>();
        for (int i = 0; i < KnownRuns.MAX_RUNS; i++) {
            many.add(data(i * 4096L, 4096, 2L * i * 4096));            // never physically contiguous
        }
        known.record(many);
        assertEquals(KnownRuns.MAX_RUNS, known.size());
        known.record(List.of(data(1L << 40, 4096, 0)));
        assertEquals(1, known.size());
        assertEquals(List.of(data(1L << 40, 4096, 0)), known.find(1L << 40, 4096));
    }
}
