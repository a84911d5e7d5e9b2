package org.nbdosgi.filter.ext2;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds the {@link Run}s of a byte range from block mappings reported in ascending order: clips
 * them to the range, turns block numbers into byte offsets and merges neighbours that continue
 * each other (same kind and, unless holes, physically contiguous). Used under the filesystem's lock.
 */
final class RunList {
    private final long start;
    private final long end;
    private final long blockSize;
    private final int maxRuns;
    private final List<Run> runs = new ArrayList<>();

    /** Runs for bytes {@code [start, end)}, at most {@code maxRuns} of them. */
    RunList(long start, long end, int blockSize, int maxRuns) {
        this.start = start;
        this.end = end;
        this.blockSize = blockSize;
        this.maxRuns = maxRuns;
    }

    long firstBlock() {
        return start / blockSize;
    }

    /** One past the last block the range touches. */
    long endBlock() {
        return (end + blockSize - 1) / blockSize;
    }

    /** The next block without a mapping yet. */
    long nextBlock() {
        return covered() / blockSize;
    }

    /** Whether the range is covered, or the list has as many runs as it may. */
    boolean isFull() {
        return covered() >= end || runs.size() >= maxRuns;
    }

    /**
     * Logical blocks {@code [block, block + count)} are at physical block {@code physicalBlock}
     * onwards (ignored for a HOLE).
     */
    void add(long block, long count, long physicalBlock, Run.Kind kind) {
        long from = Math.max(block * blockSize, covered());
        long to = Math.min((block + count) * blockSize, end);
        if (to <= from) {
            return;
        }
        long physical = kind != Run.Kind.HOLE ? physicalBlock * blockSize + (from - block * blockSize) : -1;
        Run run = new Run(from, to - from, physical, kind);
        if (!runs.isEmpty() && runs.get(runs.size() - 1).isContinuedBy(run)) {
            runs.set(runs.size() - 1, runs.get(runs.size() - 1).join(run));
        } else if (runs.size() < maxRuns) {
            runs.add(run);
        }
    }

    private long covered() {
        return runs.isEmpty() ? start : runs.get(runs.size() - 1).end();
    }

    List<Run> runs() {
        return runs;
    }
}
