package org.nbdosgi.filter.stats;

/**
 * The operations the stats filter counts, in the order the report lists them. {@code inTotal}: its
 * requests count towards the total line's ops (all but cache, as in nbdkit); {@code data}: its
 * bytes count towards the total (extents and cache only describe or prefetch data);
 * {@code sized}: it has a request size and offset for the histogram (all but flush).
 */
enum Op {
    READ("read", true, true, true),
    WRITE("write", true, true, true),
    TRIM("trim", true, true, true),
    ZERO("zero", true, true, true),
    EXTENTS("extents", true, false, true),
    CACHE("cache", false, false, true),
    FLUSH("flush", true, false, false);

    static final Op[] ALL = values();

    final String label;
    final boolean inTotal;
    final boolean data;
    final boolean sized;

    Op(String label, boolean inTotal, boolean data, boolean sized) {
        this.label = label;
        this.inTotal = inTotal;
        this.data = data;
        this.sized = sized;
    }
}
