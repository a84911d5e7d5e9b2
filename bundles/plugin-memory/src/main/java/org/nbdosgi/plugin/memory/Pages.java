package org.nbdosgi.plugin.memory;

import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SHIFT;
import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SIZE;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdException;

/**
 * The sparse page store: page number to a direct buffer of {@link MemoryPlugin#PAGE_SIZE} bytes.
 * Missing pages read as zeros. Lock-free: the map is concurrent, and bytes within a page are
 * copied without locks (overlapping concurrent writes have no defined order in NBD anyway).
 */
final class Pages {
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(PAGE_SIZE).asReadOnlyBuffer();

    private final ConcurrentHashMap<Long, ByteBuffer> map;

    Pages(ConcurrentHashMap<Long, ByteBuffer> map) {
        this.map = map;
    }

    ConcurrentHashMap<Long, ByteBuffer> map() {
        return map;
    }

    /** Number of pages holding data. */
    int allocated() {
        return map.size();
    }

    void read(ByteBuffer dst, long offset) {
        int at = dst.position();
        int end = dst.limit();
        while (at < end) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = Math.min(end - at, PAGE_SIZE - inPage);
            ByteBuffer p = map.get(page);
            dst.put(at, p == null ? ZEROS : p, p == null ? 0 : inPage, n);
            at += n;
            offset += n;
        }
    }

    void write(ByteBuffer src, long offset) {
        int at = src.position();
        int end = src.limit();
        while (at < end) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = Math.min(end - at, PAGE_SIZE - inPage);
            ByteBuffer p = map.computeIfAbsent(page, k -> ByteBuffer.allocateDirect(PAGE_SIZE));
            p.put(inPage, src, at, n);
            at += n;
            offset += n;
        }
    }

    /** Zeros a range: whole pages are freed, partial ones cleared in place. */
    void zero(long offset, long length) {
        long end = offset + length;
        while (offset < end) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = (int) Math.min(end - offset, PAGE_SIZE - inPage);
            if (n == PAGE_SIZE) {
                map.remove(page);
            } else {
                ByteBuffer p = map.get(page);
                if (p != null) {
                    p.put(inPage, ZEROS, 0, n);
                }
            }
            offset += n;
        }
    }

    /** Forgets everything at or beyond {@code size}. */
    void truncate(long size) {
        map.keySet().removeIf(page -> page > (size - 1) >>> PAGE_SHIFT || size == 0);
        int tail = (int) (size & (PAGE_SIZE - 1));
        ByteBuffer last = map.get(size >>> PAGE_SHIFT);
        if (tail != 0 && last != null) {
            last.put(tail, ZEROS, 0, PAGE_SIZE - tail);
        }
    }

    /** Allocated pages are data, missing ones holes that read as zeros. */
    void extents(long offset, long length, Extents extents) throws NbdException {
        long last = (Math.min(offset + length, extents.end()) - 1) >>> PAGE_SHIFT;
        for (long page = offset >>> PAGE_SHIFT; page <= last && !extents.isFull(); page++) {
            extents.add(page << PAGE_SHIFT, PAGE_SIZE, map.containsKey(page) ? 0 : Extents.HOLE | Extents.ZERO);
        }
    }
}
