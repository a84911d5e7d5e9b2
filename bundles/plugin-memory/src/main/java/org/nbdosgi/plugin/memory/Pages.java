package org.nbdosgi.plugin.memory;

import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SHIFT;
import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SIZE;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * The sparse page store: a radix tree of {@code AtomicReferenceArray}s, 4096 slots per node, with
 * direct buffers of {@link MemoryPlugin#PAGE_SIZE} bytes as leaves; as many levels as the disk's
 * page numbers need (a 1 GiB disk has two, 2^63-1 bytes four). Missing pages read as zeros, and a
 * missing subtree is a hole skipped in one step. Lock-free: nodes and pages are installed with
 * compare-and-set, and bytes within a page are copied without locks (overlapping concurrent writes
 * have no defined order in NBD anyway). Built from JDK types only, so it can be handed to a
 * successor bundle as it is.
 */
final class Pages {
    private static final int BITS = 12;
    private static final int FAN = 1 << BITS;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(PAGE_SIZE).asReadOnlyBuffer();

    private final int levels;
    private final AtomicReferenceArray<Object> root;

    private Pages(int levels, AtomicReferenceArray<Object> root) {
        this.levels = levels;
        this.root = root;
    }

    /** An empty store for a disk of {@code size} bytes. */
    static Pages empty(long size) {
        return new Pages(levelsFor(size), new AtomicReferenceArray<>(FAN));
    }

    /** A store for {@code size} bytes holding the pages of {@code state} (from {@link #state()}) below that size. */
    static Pages adopt(long size, Map<?, ?> state) {
        Pages old = new Pages((Integer) state.get("levels"), cast(state.get("root")));
        long pages = pageCount(size);
        if (old.levels == levelsFor(size)) {
            old.truncate(size);
            return old;
        }
        Pages fresh = empty(size);
        old.forEach((page, buffer) -> {
            if (page < pages) {
                fresh.put(page, buffer);
            }
        });
        fresh.truncate(size);
        return fresh;
    }

    /** What a successor needs: JDK types only. */
    Map<String, Object> state() {
        return Map.of("levels", levels, "root", root);
    }

    private static long pageCount(long size) {
        return (size + PAGE_SIZE - 1) >>> PAGE_SHIFT;
    }

    private static int levelsFor(long size) {
        int bits = 64 - Long.numberOfLeadingZeros(Math.max(1, pageCount(size)) - 1);
        return Math.max(1, (bits + BITS - 1) / BITS);
    }

    @SuppressWarnings("unchecked")
    private static AtomicReferenceArray<Object> cast(Object node) {
        return (AtomicReferenceArray<Object>) node;
    }

    private static int slot(long page, int level) {
        return (int) (page >>> (level * BITS)) & (FAN - 1);
    }

    /** The leaf node holding {@code page}, created on the way if {@code create}; null if absent. */
    private AtomicReferenceArray<Object> leaf(long page, boolean create) {
        AtomicReferenceArray<Object> node = root;
        for (int level = levels - 1; level > 0; level--) {
            int i = slot(page, level);
            Object child = node.get(i);
            if (child == null) {
                if (!create) {
                    return null;
                }
                AtomicReferenceArray<Object> made = new AtomicReferenceArray<>(FAN);
                child = node.compareAndSet(i, null, made) ? made : node.get(i);
            }
            node = cast(child);
        }
        return node;
    }

    ByteBuffer get(long page) {
        AtomicReferenceArray<Object> leaf = leaf(page, false);
        return leaf == null ? null : (ByteBuffer) leaf.get(slot(page, 0));
    }

    private ByteBuffer getOrCreate(long page) throws NbdException {
        AtomicReferenceArray<Object> leaf = leaf(page, true);
        int i = slot(page, 0);
        Object p = leaf.get(i);
        if (p == null) {
            ByteBuffer made;
            try {
                made = ByteBuffer.allocateDirect(PAGE_SIZE);
            } catch (OutOfMemoryError e) {
                throw new NbdException(NbdError.ENOSPC, "the memory disk is out of memory (the JVM's direct memory limit)");
            }
            p = leaf.compareAndSet(i, null, made) ? made : leaf.get(i);
        }
        return (ByteBuffer) p;
    }

    private void put(long page, ByteBuffer buffer) {
        leaf(page, true).set(slot(page, 0), buffer);
    }

    private void remove(long page) {
        AtomicReferenceArray<Object> leaf = leaf(page, false);
        if (leaf != null) {
            leaf.set(slot(page, 0), null);
        }
    }

    /**
     * -1 if {@code page} holds data; otherwise the first page after the largest missing subtree
     * that contains it (so a hole of many pages is skipped at once).
     */
    private long holeEnd(long page) {
        AtomicReferenceArray<Object> node = root;
        for (int level = levels - 1; level >= 0; level--) {
            Object child = node.get(slot(page, level));
            if (child == null) {
                long span = 1L << (level * BITS);
                return (page & -span) + span;
            }
            if (level > 0) {
                node = cast(child);
            }
        }
        return -1;
    }

    private interface PageVisitor {
        void visit(long page, ByteBuffer buffer);
    }

    private void forEach(PageVisitor visitor) {
        walk(root, levels - 1, 0, visitor);
    }

    private static void walk(AtomicReferenceArray<Object> node, int level, long base, PageVisitor visitor) {
        for (int i = 0; i < FAN; i++) {
            Object child = node.get(i);
            if (child == null) {
                continue;
            }
            long page = base | ((long) i << (level * BITS));
            if (level == 0) {
                visitor.visit(page, (ByteBuffer) child);
            } else {
                walk(cast(child), level - 1, page, visitor);
            }
        }
    }

    /** Number of pages holding data (walks the tree: for tests and diagnostics). */
    long allocated() {
        long[] n = {0};
        forEach((page, buffer) -> n[0]++);
        return n[0];
    }

    void read(ByteBuffer dst, long offset) {
        int at = dst.position();
        int end = dst.limit();
        while (at < end) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = Math.min(end - at, PAGE_SIZE - inPage);
            ByteBuffer p = get(page);
            dst.put(at, p == null ? ZEROS : p, p == null ? 0 : inPage, n);
            at += n;
            offset += n;
        }
    }

    void write(ByteBuffer src, long offset) throws NbdException {
        int at = src.position();
        int end = src.limit();
        while (at < end) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = Math.min(end - at, PAGE_SIZE - inPage);
            getOrCreate(page).put(inPage, src, at, n);
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
                remove(page);
            } else {
                ByteBuffer p = get(page);
                if (p != null) {
                    p.put(inPage, ZEROS, 0, n);
                }
            }
            offset += n;
        }
    }

    /** Forgets everything at or beyond {@code size}. */
    void truncate(long size) {
        long pages = pageCount(size);
        forEach((page, buffer) -> {
            if (page >= pages) {
                remove(page);
            }
        });
        int tail = (int) (size & (PAGE_SIZE - 1));
        ByteBuffer last = tail == 0 ? null : get(size >>> PAGE_SHIFT);
        if (last != null) {
            last.put(tail, ZEROS, 0, PAGE_SIZE - tail);
        }
    }

    /** Allocated pages are data, missing ones holes that read as zeros. */
    void extents(long offset, long length, Extents extents) throws NbdException {
        long last = (Math.min(offset + length, extents.end()) - 1) >>> PAGE_SHIFT;
        long page = offset >>> PAGE_SHIFT;
        while (page <= last && !extents.isFull()) {
            long holeEnd = holeEnd(page);
            if (holeEnd < 0) {
                extents.add(page << PAGE_SHIFT, PAGE_SIZE, 0);
                page++;
            } else {
                long pages = Math.min(holeEnd, last + 1) - page;
                long bytes = pages > (Long.MAX_VALUE >>> PAGE_SHIFT) - page ? Long.MAX_VALUE - (page << PAGE_SHIFT) : pages << PAGE_SHIFT;
                extents.add(page << PAGE_SHIFT, bytes, Extents.HOLE | Extents.ZERO);
                page += pages;
            }
        }
    }
}
