package org.nbdosgi.api;

/**
 * Everything a layer tells about one handle, answered once when the handle opens (see
 * {@link Handle#capabilities()}). The engine derives from it what the client is offered (its
 * transmission flags, block sizes, description) and what the client is promised across a rewire.
 *
 * <p>{@code zero}, {@code fua} and {@code cache}: {@link Support#EMULATE} asks the engine to do it
 * for the layer (zero by writing zeros, FUA by a flush after the write, cache by a read). The engine
 * does that directly above the layer that asked, normally the plugin, and offers the result to the
 * layer above as {@link Support#NATIVE}; so a filter that passes a capability through sees the
 * request the client sent.
 *
 * @param size        bytes, at least 0
 * @param blockSize   the alignment the layer needs ({@link BlockSize#DEFAULT} for none)
 * @param write       writes allowed (trim, zero and FUA are offered only with write)
 * @param flush       flush offered
 * @param trim        trim offered
 * @param zero        how write-zeroes is done
 * @param fastZero    a FAST_ZERO request may be tried (it may still fail quickly with ENOTSUP)
 * @param fua         how FUA is done
 * @param multiConn   flush and FUA on one connection are visible on every connection of the export
 * @param cache       how NBD_CMD_CACHE is done
 * @param extents     block status describes real allocation (otherwise all data)
 * @param rotational  the storage is rotational (a hint for the client's scheduler)
 * @param nonBlocking every operation finishes by computing alone (see {@link Handle#isNonBlocking()})
 * @param description a human-readable description for NBD_INFO_DESCRIPTION, or null
 */
public record Capabilities(long size, BlockSize blockSize, boolean write, boolean flush, boolean trim, Support zero,
                           boolean fastZero, Support fua, boolean multiConn, Support cache, boolean extents,
                           boolean rotational, boolean nonBlocking, String description) {
    public Capabilities {
        java.util.Objects.requireNonNull(blockSize, "blockSize");
        java.util.Objects.requireNonNull(zero, "zero");
        java.util.Objects.requireNonNull(fua, "fua");
        java.util.Objects.requireNonNull(cache, "cache");
    }

    /** The same capabilities without writing: no write, trim, zero, fast zero or FUA. */
    public Capabilities readOnly() {
        return new Capabilities(size, blockSize, false, flush, false, Support.NONE, false, Support.NONE, multiConn, cache,
                extents, rotational, nonBlocking, description);
    }
}
