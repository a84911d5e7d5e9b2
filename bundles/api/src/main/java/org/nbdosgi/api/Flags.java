package org.nbdosgi.api;

/** Bits of the {@code flags} argument of the {@link Handle} data operations. */
public final class Flags {
    /** Write, trim or zero: persist before replying (force unit access). */
    public static final int FUA = 1 << 0;
    /** Zero: the range may be punched as a hole (the client did not send NO_HOLE). */
    public static final int MAY_TRIM = 1 << 1;
    /** Extents: the client wants only the first extent. */
    public static final int REQ_ONE = 1 << 2;
    /** Zero: fail at once with ENOTSUP unless zeroing is faster than writing zeros. */
    public static final int FAST_ZERO = 1 << 3;

    private Flags() {
    }

    public static boolean has(int flags, int flag) {
        return (flags & flag) != 0;
    }
}
