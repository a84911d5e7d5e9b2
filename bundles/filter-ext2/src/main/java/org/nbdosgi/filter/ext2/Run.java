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
}
