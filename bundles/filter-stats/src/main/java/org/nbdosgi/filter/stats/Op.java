package org.nbdosgi.filter.stats;

/**
 * The operations the stats filter counts, in the order the report lists them. {@code data}: its
 * bytes count towards the total (extents and cache only describe or prefetch data);
 * {@code sized}: it has a request size and offset for the histogram (all but flush).
 */
enum Op {
    READ("read", true, true),
    WRITE("write", true, true),
    TRIM("trim", true, true),
    ZERO("zero", true, true),
    EXTENTS("extents", false, true),
    CACHE("cache", false, true),
    FLUSH("flush", false, false);

    static final Op[] ALL = values();

    final String label;
    final boolean data;
    final boolean sized;

    Op(String label, boolean data, boolean sized) {
        this.label = label;
        this.data = data;
        this.sized = sized;
    }
}
