package org.nbdosgi.filter.cache;

/** When writes reach the layer below ({@code cache=}). */
enum CacheMode {
    /** Writes stay in the cache until a flush, a FUA write, a reclaim or the export's stop. */
    WRITEBACK,
    /** Every write also goes to the layer below before it is acknowledged. */
    WRITETHROUGH,
    /** As writeback, but flush and FUA do nothing: the layer below is written on reclaim and at stop. */
    UNSAFE
}
