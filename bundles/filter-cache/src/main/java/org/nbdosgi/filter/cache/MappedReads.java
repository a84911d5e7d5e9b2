package org.nbdosgi.filter.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * Reads of the cache file through shared read-only mappings of 1 GiB pieces, mapped when first
 * read: a cache hit is then a copy out of the page cache, without a system call. The kernel keeps
 * the mappings coherent with the channel's writes and with punched holes (which read as zeros).
 * Should the system refuse a mapping (address space, map count), reads go through the channel
 * from then on. Lock-free; data plane.
 */
final class MappedReads {
    private static final int SHIFT = 30;
    private static final long PIECE = 1L << SHIFT;

    private final long length;
    private final AtomicReferenceArray<MappedByteBuffer> pieces;
    private volatile boolean refused;

    MappedReads(long length) {
        this.length = length;
        this.pieces = new AtomicReferenceArray<>((int) ((length + PIECE - 1) >>> SHIFT));
    }

    /**
     * Copies from the file at {@code offset} into {@code dst}, advancing its position; false when
     * mappings are not available, with the position at what was copied so far.
     */
    boolean read(FileChannel channel, ByteBuffer dst, long offset) throws IOException {
        while (dst.hasRemaining()) {
            MappedByteBuffer piece = piece(channel, (int) (offset >>> SHIFT));
            if (piece == null) {
                return false;
            }
            int at = (int) (offset & (PIECE - 1));
            int n = Math.min(dst.remaining(), piece.capacity() - at);
            try {
                dst.put(dst.position(), piece, at, n);
            } catch (InternalError e) {                             // SIGBUS: the disk failed to page in
                throw new NbdException(NbdError.EIO, "cache: reading the cache file failed: " + e.getMessage(), e);
            }
            dst.position(dst.position() + n);
            offset += n;
        }
        return true;
    }

    private MappedByteBuffer piece(FileChannel channel, int index) throws IOException {
        MappedByteBuffer piece = pieces.get(index);
        if (piece != null || refused) {
            return piece;
        }
        long start = (long) index << SHIFT;
        try {
            piece = channel.map(FileChannel.MapMode.READ_ONLY, start, Math.min(PIECE, length - start));
        } catch (IOException | OutOfMemoryError e) {
            if (!channel.isOpen()) {
                throw e;                                            // closed under us: the caller opens it again
            }
            refused = true;
            return null;
        }
        return pieces.compareAndSet(index, null, piece) ? piece : pieces.get(index);
    }
}
