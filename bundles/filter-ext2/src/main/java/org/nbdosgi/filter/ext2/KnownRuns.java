package org.nbdosgi.filter.ext2;

import java.util.ArrayList;
import java.util.List;

/**
 * What is already known of an inner file's block map: sorted, non-overlapping {@link Run}s, so that
 * a request over a known range finds where its bytes live without the filesystem's lock and without
 * a call into libext2fs (which, for a tree block, means a callback and a read of the layer below).
 * The block map changes only through this filter's own allocations, which record their result
 * here, so what is known stays true for the life of the export.
 *
 * <p>Data plane. {@link #find} runs on any thread against an immutable snapshot; {@link #record}
 * runs under the filesystem's lock and publishes a new snapshot.
 */
final class KnownRuns {
    /** Beyond this many runs the oldest knowledge is dropped, bounding memory on huge fragmented files. */
    static final int MAX_RUNS = 65_536;

    private volatile Run[] runs = new Run[0];

    /** The runs covering {@code [offset, offset + length)}, or null unless all of it is known. */
    List<Run> find(long offset, long length) {
        Run[] known = runs;
        long end = offset + length;
        List<Run> out = new ArrayList<>();
        for (int i = firstEndingAfter(known, offset); offset < end; i++) {
            if (i >= known.length || known[i].offset() > offset) {
                return null;
            }
            long to = Math.min(known[i].end(), end);
            out.add(known[i].clip(offset, to));
            offset = to;
        }
        return out;
    }

    /** Records freshly mapped, contiguous runs: they replace whatever was known of their range. */
    void record(List<Run> fresh) {
        if (fresh.isEmpty()) {
            return;
        }
        Run[] known = runs;
        long from = fresh.get(0).offset();
        long to = fresh.get(fresh.size() - 1).end();
        List<Run> out = new ArrayList<>(known.length + fresh.size() + 1);
        int i = 0;
        for (; i < known.length && known[i].offset() < from; i++) {
            append(out, known[i].end() <= from ? known[i] : known[i].clip(known[i].offset(), from));
        }
        for (Run r : fresh) {
            append(out, r);
        }
        for (i = firstEndingAfter(known, to); i < known.length; i++) {
            append(out, known[i].offset() >= to ? known[i] : known[i].clip(to, known[i].end()));
        }
        runs = (out.size() <= MAX_RUNS ? out : fresh).toArray(new Run[0]);
    }

    int size() {
        return runs.length;
    }

    private static void append(List<Run> out, Run r) {
        int last = out.size() - 1;
        if (last >= 0 && out.get(last).isContinuedBy(r)) {
            out.set(last, out.get(last).join(r));
        } else {
            out.add(r);
        }
    }

    /** The index of the first run that ends after {@code offset} (binary search). */
    private static int firstEndingAfter(Run[] known, long offset) {
        int lo = 0;
        int hi = known.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (known[mid].end() <= offset) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
