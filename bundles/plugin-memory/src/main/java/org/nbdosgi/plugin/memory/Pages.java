package org.nbdosgi.plugin.memory;

import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SHIFT;
import static org.nbdosgi.plugin.memory.MemoryPlugin.PAGE_SIZE;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.buffers.Zeros;

/**
 * The sparse page store: a radix tree of {@code AtomicReferenceArray}s, 4096 slots per node, with
 * direct buffers of {@link MemoryPlugin#PAGE_SIZE} bytes as leaves; as many levels as the disk's
 * page numbers need (a 1 GiB disk has two, 2^63-1 bytes four). Missing pages read as zeros, and a
 * missing subtree is a hole skipped in one step. Lock-free: nodes and pages are installed with
 * compare-and-set, and bytes within a page are copied without locks (overlapping concurrent writes
 * have no defined order in NBD anyway). Built from JDK types only, so it can be handed to a
 * successor bundle as it is.
 *
 * <p>Trim and zero free whole pages, then prune the nodes they left empty, leaf first and upwards
 * (never the root), so memory follows the data even after a huge sparse disk was written all over
 * and trimmed. Pruning must never lose a page a concurrent writer installs into a node being pruned.
 * A node's extra last slot is its status: null while live, a pruner's {@link Seal} while it works,
 * {@link #DEAD} once pruned. A pruner takes the status (from any earlier pruner, who then fails),
 * then puts its seal into every slot, each only while it still holds the status and the slot is
 * empty; if it gets through all of them and still holds the status, it marks the node dead: empty,
 * and nothing can enter it any more, since every slot holds its seal. Then it unlinks the node.
 * A writer that finds the seal of the status holder where it wants to install cancels that pruning
 * by taking the status back; any other seal is stale (its pruning failed) and counts as empty;
 * in a dead node the writer unlinks the node and starts again from the root. No request writes
 * null over a seal, so a dead node stays sealed. Stale seals are cleared before a hand-over, so a
 * successor gets pages and nodes only.
 */
final class Pages {
    private static final int BITS = 12;
    private static final int FAN = 1 << BITS;
    /** A node's status slot, after its FAN children. */
    private static final int STATUS = FAN;

    /** One pruning attempt's mark on the slots it sealed and on the node's status. */
    private static final class Seal {
    }

    /** The status of a pruned node. */
    private static final Seal DEAD = new Seal();

    private final int levels;
    private final AtomicReferenceArray<Object> root;

    private Pages(int levels, AtomicReferenceArray<Object> root) {
        this.levels = levels;
        this.root = root;
    }

    private static AtomicReferenceArray<Object> newNode() {
        return new AtomicReferenceArray<>(FAN + 1);
    }

    /** An empty store for a disk of {@code size} bytes. */
    static Pages empty(long size) {
        return new Pages(levelsFor(size), newNode());
    }

    /** A store for {@code size} bytes holding the pages of {@code state} (from {@link #state()}) below that size. */
    static Pages adopt(long size, Map<?, ?> state) {
        Pages old = new Pages((Integer) state.get("levels"), cast(state.get("root")));
        long pages = pageCount(size);
        // nodes of a predecessor without a status slot are copied into nodes with one
        if (old.levels == levelsFor(size) && old.root.length() == FAN + 1) {
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

    /** What a successor needs: JDK types only (stale seals are cleared). With no request running. */
    Map<String, Object> state() {
        clearSeals(root, levels - 1);
        return Map.of("levels", levels, "root", root);
    }

    private static void clearSeals(AtomicReferenceArray<Object> node, int level) {
        for (int i = 0; i < FAN; i++) {
            Object child = node.get(i);
            if (child instanceof Seal) {
                node.set(i, null);
            } else if (level > 0 && child != null) {
                clearSeals(cast(child), level - 1);
            }
        }
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
        int level = levels - 1;
        while (level > 0) {
            int i = slot(page, level);
            Object child = node.get(i);
            if (!(child instanceof AtomicReferenceArray<?>)) {     // missing, or sealed by a pruner
                if (!create) {
                    return null;
                }
                child = claim(node, i, newNode());
                if (child == DEAD) {
                    unlinkDead(page);
                    node = root;
                    level = levels - 1;
                    continue;
                }
            }
            node = cast(child);
            level--;
        }
        return node;
    }

    /**
     * Puts {@code value} into the node's empty slot {@code i}. Returns what the slot then holds:
     * {@code value}, or what another thread put there first; or {@link #DEAD} if the node was pruned
     * (the caller starts again from the root). A seal of the pruner holding the node's status means
     * it is at work: the slot is wanted, so its pruning is cancelled; any other seal is stale and
     * counts as empty.
     */
    private static Object claim(AtomicReferenceArray<Object> node, int i, Object value) {
        while (true) {
            Object seen = node.get(i);
            if (seen == null) {
                if (node.compareAndSet(i, null, value)) {
                    return value;
                }
            } else if (seen instanceof Seal) {
                Object status = node.get(STATUS);
                if (status == DEAD) {
                    return DEAD;
                }
                if (status == seen) {
                    node.compareAndSet(STATUS, seen, null);         // its pruner can no longer mark it dead
                } else if (node.compareAndSet(i, seen, value)) {
                    return value;
                }
            } else {
                return seen;
            }
        }
    }

    /** Unlinks a pruned node on the way to {@code page} that its pruner has not unlinked yet. */
    private void unlinkDead(long page) {
        AtomicReferenceArray<Object> node = root;
        for (int level = levels - 1; level > 0; level--) {
            int i = slot(page, level);
            if (!(node.get(i) instanceof AtomicReferenceArray<?> child)) {
                return;
            }
            if (child.get(STATUS) == DEAD) {
                node.compareAndSet(i, child, null);
                return;
            }
            node = cast(child);
        }
    }

    ByteBuffer get(long page) {
        AtomicReferenceArray<Object> leaf = leaf(page, false);
        return leaf != null && leaf.get(slot(page, 0)) instanceof ByteBuffer b ? b : null;
    }

    private ByteBuffer getOrCreate(long page) throws NbdException {
        ByteBuffer made = null;
        while (true) {
            AtomicReferenceArray<Object> leaf = leaf(page, true);
            int i = slot(page, 0);
            if (leaf.get(i) instanceof ByteBuffer b) {
                return b;
            }
            if (made == null) {
                try {
                    made = ByteBuffer.allocateDirect(PAGE_SIZE);
                } catch (OutOfMemoryError e) {
                    throw new NbdException(NbdError.ENOSPC, "the memory disk is out of memory (the JVM's direct memory limit)");
                }
            }
            Object p = claim(leaf, i, made);
            if (p != DEAD) {
                return (ByteBuffer) p;
            }
            unlinkDead(page);
        }
    }

    /** Control plane only (a store nobody else uses yet). */
    private void put(long page, ByteBuffer buffer) {
        leaf(page, true).set(slot(page, 0), buffer);
    }

    /** Frees a page; true if there was one. */
    private boolean remove(long page) {
        AtomicReferenceArray<Object> leaf = leaf(page, false);
        if (leaf == null) {
            return false;
        }
        int i = slot(page, 0);
        Object p = leaf.get(i);
        return p instanceof ByteBuffer && leaf.compareAndSet(i, p, null);
    }

    /** Prunes the nodes on the way to {@code page} that are empty: the leaf, then up while they are (never the root). */
    private void prune(long page) {
        Object[] path = new Object[levels];
        AtomicReferenceArray<Object> node = root;
        path[levels - 1] = node;
        for (int level = levels - 1; level > 0; level--) {
            if (!(node.get(slot(page, level)) instanceof AtomicReferenceArray<?> child)) {
                return;
            }
            node = cast(child);
            path[level - 1] = node;
        }
        for (int level = 0; level < levels - 1; level++) {
            if (!prune(cast(path[level + 1]), slot(page, level + 1), cast(path[level]))) {
                return;
            }
        }
    }

    /**
     * Marks {@code node} dead and unlinks it from slot {@code i} of {@code parent} if it is empty;
     * true if it did. It takes the node over from a pruner already at work (who then fails), so the
     * last thread to empty a node always gets to prune it.
     */
    private static boolean prune(AtomicReferenceArray<Object> parent, int i, AtomicReferenceArray<Object> node) {
        for (int j = 0; j < FAN; j++) {
            if (isPageOrNode(node.get(j))) {
                return false;                                       // the usual case, found without writing
            }
        }
        Object status = node.get(STATUS);
        Seal seal = new Seal();
        if (status == DEAD || !node.compareAndSet(STATUS, status, seal)) {
            return false;
        }
        for (int j = 0; j < FAN; ) {
            Object child = node.get(j);
            if (child == seal) {
                j++;
            } else if (isPageOrNode(child) || node.get(STATUS) != seal) {
                node.compareAndSet(STATUS, seal, null);             // a page or node arrived, or we were cancelled
                return false;                                       // our seals stay, as stale ones
            } else {
                node.compareAndSet(j, child, seal);                 // empty, or a stale seal (only we may seal now)
            }
        }
        if (!node.compareAndSet(STATUS, seal, DEAD)) {
            return false;
        }
        parent.compareAndSet(i, node, null);
        return true;
    }

    private static boolean isPageOrNode(Object slot) {
        return slot instanceof ByteBuffer || slot instanceof AtomicReferenceArray<?>;
    }

    /** Collects the pages freed by one operation and prunes each leaf once, when the operation moves past it. */
    private final class Freed {
        private long leafPage = -1;

        void page(long page) {
            long first = page & -FAN;
            if (first != leafPage) {
                done();
                leafPage = first;
            }
        }

        void done() {
            if (leafPage >= 0) {
                prune(leafPage);
                leafPage = -1;
            }
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
            if (child == null || child instanceof Seal) {
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
            if (child == null || child instanceof Seal) {
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

    /** Number of tree nodes, the root included (walks the tree: for tests and diagnostics). */
    long nodes() {
        return nodes(root, levels - 1);
    }

    private static long nodes(AtomicReferenceArray<Object> node, int level) {
        long n = 1;
        for (int i = 0; level > 0 && i < FAN; i++) {
            if (node.get(i) instanceof AtomicReferenceArray<?> child) {
                n += nodes(cast(child), level - 1);
            }
        }
        return n;
    }

    void read(ByteBuffer dst, long offset) {
        int at = dst.position();
        int end = dst.limit();
        while (at < end) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = Math.min(end - at, PAGE_SIZE - inPage);
            ByteBuffer p = get(page);
            if (p == null) {
                Zeros.fill(dst, at, n);
            } else {
                dst.put(at, p, inPage, n);
            }
            at += n;
            offset += n;
        }
    }

    /**
     * The bytes at {@code offset}: views of the pages, and zeros for missing ones (a run of them in
     * one view). A page a trim frees meanwhile stays valid while viewed (the collector frees it).
     */
    ByteBuffer[] lend(long offset, int length) {
        ByteBuffer[] views = new ByteBuffer[(int) (((offset & (PAGE_SIZE - 1)) + length + PAGE_SIZE - 1) >>> PAGE_SHIFT)];
        int count = 0;
        int zeros = 0;
        for (int left = length; left > 0; ) {
            long page = offset >>> PAGE_SHIFT;
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = Math.min(left, PAGE_SIZE - inPage);
            ByteBuffer p = get(page);
            if (p == null && zeros + n <= Zeros.CHUNK) {
                zeros += n;
            } else {
                if (zeros > 0) {
                    views[count++] = Zeros.slice(zeros);
                }
                zeros = p == null ? n : 0;
                if (p != null) {
                    views[count++] = p.slice(inPage, n);
                }
            }
            left -= n;
            offset += n;
        }
        if (zeros > 0) {
            views[count++] = Zeros.slice(zeros);
        }
        return count == views.length ? views : Arrays.copyOf(views, count);
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

    /** Zeros a range: whole pages are freed, partial ones cleared in place; missing subtrees are skipped. */
    void zero(long offset, long length) {
        long end = offset + length;
        Freed freed = new Freed();
        while (offset < end) {
            long page = offset >>> PAGE_SHIFT;
            long holeEnd = holeEnd(page);
            if (holeEnd >= 0) {
                offset = holeEnd > (Long.MAX_VALUE >>> PAGE_SHIFT) ? end : Math.min(end, holeEnd << PAGE_SHIFT);
                continue;
            }
            int inPage = (int) (offset & (PAGE_SIZE - 1));
            int n = (int) Math.min(end - offset, PAGE_SIZE - inPage);
            if (n == PAGE_SIZE) {
                if (remove(page)) {
                    freed.page(page);
                }
            } else {
                ByteBuffer p = get(page);
                if (p != null) {
                    Zeros.fill(p, inPage, n);
                }
            }
            offset += n;
        }
        freed.done();
    }

    /** Forgets everything at or beyond {@code size}. */
    void truncate(long size) {
        long pages = pageCount(size);
        Freed freed = new Freed();
        forEach((page, buffer) -> {
            if (page >= pages && remove(page)) {
                freed.page(page);
            }
        });
        freed.done();
        int tail = (int) (size & (PAGE_SIZE - 1));
        ByteBuffer last = tail == 0 ? null : get(size >>> PAGE_SHIFT);
        if (last != null) {
            Zeros.fill(last, tail, PAGE_SIZE - tail);
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
