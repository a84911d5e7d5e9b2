package org.nbdosgi.filter.ext2;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

import com.sun.jna.Pointer;

/**
 * The metadata blocks libext2fs read last through {@link LayerIo}, kept so that looking up an
 * indirect-mapped file block by block (which reads the same indirect block each time) and updating
 * an inode (which reads its inode table block back) do not go to the layer below every time.
 * Only reads enter the cache; writes go through to the layer below and update an entry for the same
 * bytes, or drop entries they overlap. Everything libext2fs reads is metadata (this filter never
 * reads file data through libext2fs), and client data, which bypasses libext2fs, is never written
 * to a metadata block, so the entries stay true.
 *
 * <p>Guarded by the filesystem's lock, like the channel that uses it.
 */
final class MetadataCache {
    private static final int ENTRIES = 256;
    private static final int LARGEST = 64 * 1024;

    private final Map<Long, byte[]> entries = new LinkedHashMap<>(ENTRIES, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
            return size() > ENTRIES;
        }
    };

    /** Copies bytes {@code [offset, offset + length)} into {@code data} if exactly they are cached. */
    boolean read(long offset, int length, Pointer data) {
        byte[] cached = entries.get(offset);
        if (cached == null || cached.length != length) {
            return false;
        }
        data.write(0, cached, 0, length);
        return true;
    }

    /** Keeps bytes {@code [offset, offset + length)} just read from the layer below. */
    void readFromBelow(long offset, int length, Pointer data) {
        if (length <= LARGEST) {
            forget(offset, length);
            entries.put(offset, data.getByteArray(0, length));
        }
    }

    /** Bytes {@code [offset, offset + length)} were written to the layer below. */
    void wroteBelow(long offset, int length, Pointer data) {
        byte[] cached = entries.get(offset);
        if (cached != null && cached.length == length) {
            data.read(0, cached, 0, length);
        } else {
            forget(offset, length);
        }
    }

    /** Drops every entry that overlaps {@code [offset, offset + length)}. */
    void forget(long offset, long length) {
        for (Iterator<Map.Entry<Long, byte[]>> i = entries.entrySet().iterator(); i.hasNext(); ) {
            Map.Entry<Long, byte[]> e = i.next();
            if (e.getKey() < offset + length && offset < e.getKey() + e.getValue().length) {
                i.remove();
            }
        }
    }
}
