package org.nbdosgi.filter.cache;

import java.nio.ByteBuffer;

/** Filling buffers with zeros from one shared read-only buffer of zeros. */
final class Zeros {
    private static final int CHUNK = 256 * 1024;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(CHUNK).asReadOnlyBuffer();

    private Zeros() {
    }

    /** A read-only slice of zeros, at most 256 KiB long. */
    static ByteBuffer slice(int length) {
        return ZEROS.slice(0, Math.min(length, CHUNK));
    }

    /** Zeros the bytes of {@code dst} between its position and limit; both stay as they were. */
    static void fill(ByteBuffer dst) {
        int at = dst.position();
        while (at < dst.limit()) {
            int n = Math.min(CHUNK, dst.limit() - at);
            dst.put(at, ZEROS, 0, n);
            at += n;
        }
    }
}
