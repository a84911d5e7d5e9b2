package org.nbdosgi.filter.stats;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The text of a {@link Snapshot}, in the format of nbdkit's stats filter:
 * <pre>
 * total: 9 ops, 0.066311 s, 1.08 MiB, 16.31 MiB/s
 * read: 3 ops, 0.000002 s, 7.43 KiB, 3.54 GiB/s op, 112.04 KiB/s total
 *   Request size and alignment breakdown:
 *     12 bits: 33.3% (1 reqs, 4.00 KiB total)
 *          12 bit aligned: 100.0% (1)
 * </pre>
 * The total line is nbdkit's: every request but cache, and the bytes read, written, trimmed and
 * zeroed. Unlike nbdkit, every size class is listed (nbdkit drops classes with equal request
 * counts) and the bytes of "other sizes" are theirs (nbdkit repeats the operation's total). Pure
 * function; any plane.
 */
final class StatsReport {
    private static final double KIB = 1024, MIB = KIB * 1024, GIB = MIB * 1024;

    private StatsReport() {
    }

    /**
     * @param threshold the percentile of requests the histograms cover (1..100); 0 for no histograms
     */
    static String format(Snapshot s, int threshold) {
        StringBuilder out = new StringBuilder();
        long ops = 0;
        long bytes = 0;
        for (Snapshot.OpTotals t : s.ops()) {
            ops += t.op().inTotal ? t.ops() : 0;
            bytes += t.op().data ? t.bytes() : 0;
        }
        line(out, "total: %d ops, %.6f s, %s, %s/s", ops, seconds(s.elapsedNanos()), size(bytes), rate(bytes, s.elapsedNanos()));
        for (Snapshot.OpTotals t : s.ops()) {
            if (t.ops() == 0) {
                continue;
            }
            line(out, "%s: %d ops, %.6f s, %s, %s/s op, %s/s total", t.op().label, t.ops(), seconds(t.nanos()),
                    size(t.bytes()), rate(t.bytes(), t.nanos()), rate(t.bytes(), s.elapsedNanos()));
            if (threshold > 0 && t.requestsBySizeAndAlignment() != null) {
                line(out, "  Request size and alignment breakdown:");
                histogram(out, t.requestsBySizeAndAlignment(), t.bytesBySize(), threshold);
                out.append('\n');
            }
        }
        return out.toString();
    }

    /** One size class: its requests, their bytes, and its row of requests by alignment. */
    private record SizeClass(int bits, long requests, long bytes, long[] byAlignment) {
    }

    /** Size classes by request count, largest first, until {@code threshold}% of requests are shown. */
    private static void histogram(StringBuilder out, long[] counts, long[] bytesBySize, int threshold) {
        List<SizeClass> classes = new ArrayList<>();
        long total = 0;
        long totalBytes = 0;
        for (int bits = 0; bits < SizeHistogram.SIZE_CLASSES; bits++) {
            long[] row = new long[SizeHistogram.ALIGNMENTS];
            System.arraycopy(counts, bits * SizeHistogram.ALIGNMENTS, row, 0, row.length);
            long n = 0;
            for (long c : row) {
                n += c;
            }
            if (n > 0) {
                classes.add(new SizeClass(bits, n, bytesBySize[bits], row));
                total += n;
                totalBytes += bytesBySize[bits];
            }
        }
        classes.sort(Comparator.comparingLong(SizeClass::requests).reversed().thenComparingInt(SizeClass::bits));
        long shown = 0;
        long shownBytes = 0;
        for (SizeClass c : classes) {
            if (shown * 100 >= (long) threshold * total) {
                line(out, "    other sizes: %4.1f%% (%d reqs, %s total)", percent(total - shown, total), total - shown,
                        size(totalBytes - shownBytes));
                return;
            }
            line(out, "    %2d bits: %4.1f%% (%d reqs, %s total)", c.bits(), percent(c.requests(), total), c.requests(),
                    size(c.bytes()));
            alignments(out, c, threshold);
            shown += c.requests();
            shownBytes += c.bytes();
        }
    }

    /**
     * For each alignment seen, the share of the class's requests aligned at least that well (offset 0
     * counts as aligned to everything); a level is shown only where the share changes, and the tail
     * below {@code 100 - threshold}% is folded into one "N+ bit-aligned" line.
     */
    private static void alignments(StringBuilder out, SizeClass c, int threshold) {
        long[] row = c.byAlignment();
        List<Integer> levels = new ArrayList<>();
        for (int a = 0; a < SizeHistogram.ANY_ALIGNMENT; a++) {
            if (row[a] > 0) {
                levels.add(a);
            }
        }
        long[] atLeast = new long[levels.size()];
        long sum = row[SizeHistogram.ANY_ALIGNMENT];
        for (int i = levels.size() - 1; i >= 0; i--) {
            sum += row[levels.get(i)];
            atLeast[i] = sum;
        }
        for (int i = 0; i < levels.size(); i++) {
            if (atLeast[i] * 100 < (long) (100 - threshold) * c.requests()) {
                line(out, "         %2d+ bit-aligned: %4.1f%% (%d)", levels.get(i), percent(atLeast[i], c.requests()), atLeast[i]);
                return;
            }
            if (i == levels.size() - 1 || atLeast[i + 1] != atLeast[i]) {
                line(out, "         %2d bit aligned: %5.1f%% (%d)", levels.get(i), percent(atLeast[i], c.requests()), atLeast[i]);
            }
        }
    }

    private static void line(StringBuilder out, String format, Object... args) {
        out.append(String.format(Locale.ROOT, format, args)).append('\n');
    }

    private static double percent(long part, long whole) {
        return whole == 0 ? 0 : part * 100.0 / whole;
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    /** nbdkit's human size: bytes, KiB, MiB or GiB with two decimals. */
    static String size(double bytes) {
        if (bytes < KIB) {
            return String.format(Locale.ROOT, "%d bytes", (long) bytes);
        }
        if (bytes < MIB) {
            return String.format(Locale.ROOT, "%.2f KiB", bytes / KIB);
        }
        if (bytes < GIB) {
            return String.format(Locale.ROOT, "%.2f MiB", bytes / MIB);
        }
        return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
    }

    /** Bytes per second over {@code nanos}, "(n/a)" when no time was measured. */
    static String rate(long bytes, long nanos) {
        return nanos == 0 ? "(n/a)" : size(Math.floor(bytes / seconds(nanos)));
    }
}
