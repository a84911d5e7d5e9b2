package org.nbdosgi.filter.ext2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class RunListTest {
    @Test
    void clipsToTheByteRangeAndTurnsBlocksIntoBytes() {
        RunList runs = new RunList(1000, 9000, 4096, 100);
        assertEquals(0, runs.firstBlock());
        assertEquals(3, runs.endBlock());
        runs.add(0, 10, 50, Run.Kind.DATA);
        assertEquals(List.of(new Run(1000, 8000, 50 * 4096 + 1000, Run.Kind.DATA)), runs.runs());
        assertTrue(runs.isFull());
    }

    @Test
    void mergesOnlyWhatContinuesOnTheLayerBelow() {
        RunList runs = new RunList(0, 10 * 1024, 1024, 100);
        runs.add(0, 2, 100, Run.Kind.DATA);
        runs.add(2, 1, 102, Run.Kind.DATA);                 // physically next: merges
        runs.add(3, 1, 200, Run.Kind.DATA);                 // elsewhere: a new run
        runs.add(4, 2, 0, Run.Kind.HOLE);
        runs.add(6, 1, 0, Run.Kind.HOLE);                   // holes merge
        runs.add(7, 1, 300, Run.Kind.UNWRITTEN);
        runs.add(8, 1, 301, Run.Kind.UNWRITTEN);
        runs.add(9, 5, 201, Run.Kind.DATA);                 // past the end: clipped
        assertEquals(List.of(
                new Run(0, 3072, 100 * 1024, Run.Kind.DATA),
                new Run(3072, 1024, 200 * 1024, Run.Kind.DATA),
                new Run(4096, 3072, -1, Run.Kind.HOLE),
                new Run(7168, 2048, 300 * 1024, Run.Kind.UNWRITTEN),
                new Run(9216, 1024, 201 * 1024, Run.Kind.DATA)), runs.runs());
    }

    @Test
    void stopsAtTheRunLimitButStillGrowsTheLastRun() {
        RunList runs = new RunList(0, 100 * 512, 512, 1);
        runs.add(0, 1, 7, Run.Kind.DATA);
        assertTrue(runs.isFull());
        runs.add(1, 1, 8, Run.Kind.DATA);
        runs.add(2, 1, 0, Run.Kind.HOLE);
        assertEquals(List.of(new Run(0, 1024, 7 * 512, Run.Kind.DATA)), runs.runs());
        assertEquals(2, runs.nextBlock());
    }
}
