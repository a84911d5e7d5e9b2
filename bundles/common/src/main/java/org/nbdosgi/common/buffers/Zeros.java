package org.nbdosgi.common.buffers;

import java.nio.ByteBuffer;

/**
 * The one buffer of zeros: a direct, read-only MiB to write zeros from, fill buffers with, and
 * compare against. Thread-safe (nothing changes it).
 */
public final class Zeros {
    /** The most zeros one {@link #slice} holds. */
    public static final int CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(CHUNK).asReadOnlyBuffer();
    private static final ByteBuffer PAGE = ZEROS.slice(0, 4096);

    private Zeros() {
    }

    /** A read-only buffer of {@code min(length, CHUNK)} zeros, position 0. */
    public static ByteBuffer slice(int length) {
        return ZEROS.slice(0, Math.min(length, CHUNK));
    }

    /** Zeros the bytes of {@code dst} between its position and limit; both stay as they were. */
    public static void fill(ByteBuffer dst) {
        fill(dst, dst.position(), dst.remaining());
    }

    /** Zeros {@code length} bytes of {@code dst} from index {@code at}; position and limit stay. */
    public static void fill(ByteBuffer dst, int at, int length) {
        int end = at + length;
        while (at < end) {
            int n = Math.min(CHUNK, end - at);
            dst.put(at, ZEROS, 0, n);
            at += n;
        }
    }

    /** Whether the bytes of {@code buf} between its position and limit are all zero. */
    public static boolean isZero(ByteBuffer buf) {
        return isZero(buf, buf.position(), buf.remaining());
    }

    /** Whether the {@code length} bytes of {@code buf} from index {@code at} are all zero. */
    public static boolean isZero(ByteBuffer buf, int at, int length) {
        int end = at + length;
        while (at < end) {
            int n = Math.min(CHUNK, end - at);
            if (buf.slice(at, n).mismatch(n == PAGE.capacity() ? PAGE : ZEROS.slice(0, n)) >= 0) {
                return false;
            }
            at += n;
        }
        return true;
    }
}
