package org.nbdosgi.filter.ext2;

/**
 * A piece of the inner file: {@code length} bytes from {@code offset} in the file, whose blocks
 * are at byte {@code physical} of the layer below, or nowhere yet ({@link Kind#HOLE}, physical -1).
 */
record Run(long offset, long length, long physical, Kind kind) {
    enum Kind {
        /** Stored at {@code physical}. */
        DATA,
        /** Not allocated: reads as zeros. */
        HOLE,
        /** Allocated but never written (an uninitialized extent): reads as zeros. */
        UNWRITTEN
    }

    long end() {
        return offset + length;
    }

    /** Whether {@code next} starts where this ends and goes on in the same way (and, unless holes, the same place). */
    boolean isContinuedBy(Run next) {
        return next.offset == end() && next.kind == kind && (kind == Kind.HOLE || physical + length == next.physical);
    }

    /** This run and {@code next}, which continues it, as one. */
    Run join(Run next) {
        return new Run(offset, next.end() - offset, physical, kind);
    }

    /** The part of this run in {@code [from, to)}, which must lie inside it. */
    Run clip(long from, long to) {
        return new Run(from, to - from, kind == Kind.HOLE ? -1 : physical + (from - offset), kind);
    }
}
