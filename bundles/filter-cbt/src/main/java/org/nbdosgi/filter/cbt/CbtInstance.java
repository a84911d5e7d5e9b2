package org.nbdosgi.filter.cbt;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Units;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cbt filter of one export: its named dirty bitmaps, which every connection's writes, zeros and
 * trims mark, each offered to clients as the meta context {@code qemu:dirty-bitmap:NAME}. Bitmaps
 * are added, cleared and removed from the console (control plane, serialized here); the data plane
 * reads an immutable list of them, replaced on each change. They outlive the instance three ways: a
 * successor of the filter (hot swap, rewire) adopts them through {@link #handOver()}; the store
 * keeps them across restarts; a bitmap the store finds unsaved comes back inconsistent.
 */
final class CbtInstance implements FilterInstance {
    private static final Logger LOG = LoggerFactory.getLogger(CbtInstance.class);

    private final String export;
    private final Layer next;
    private final BitmapStore store;
    private final LiveBitmaps live;
    private volatile List<DirtyBitmap> bitmaps;
    private boolean handedOver;

    /**
     * @param store     where the bitmaps are kept between runs, or null for memory only
     * @param inherited what a predecessor handed over, or null: the bitmaps come from the store
     */
    CbtInstance(String export, Layer next, BitmapStore store, LiveBitmaps live, Object inherited) throws ConfigException {
        this.export = export;
        this.next = next;
        this.store = store;
        this.live = live;
        List<DirtyBitmap> found = new ArrayList<>();
        try {
            if (inherited instanceof Map<?, ?> handed) {
                for (Map.Entry<?, ?> e : handed.entrySet()) {
                    found.add(DirtyBitmap.read((String) e.getKey(), new ByteArrayInputStream((byte[]) e.getValue())));
                }
            } else if (store != null) {
                found.addAll(store.load().values());
            }
            if (store != null) {
                for (DirtyBitmap b : found) {
                    store.markInUse(b);
                }
            }
        } catch (IOException e) {
            throw new ConfigException("cbt-dir: " + store.dir() + ": " + e.getMessage(), e);
        }
        this.bitmaps = List.copyOf(found);
    }

    String exportName() {
        return export;
    }

    List<DirtyBitmap> bitmaps() {
        return bitmaps;
    }

    /** Data plane: a write, zero or trim touched {@code [offset, offset + length)}. */
    void mark(long offset, long length) {
        for (DirtyBitmap b : bitmaps) {
            b.mark(offset, length);
        }
    }

    /** Data plane: the bitmap a meta context names, or null when it is not one of ours. */
    DirtyBitmap bitmapFor(String context) {
        if (context.startsWith(Extents.QEMU_DIRTY_BITMAP)) {
            String name = context.substring(Extents.QEMU_DIRTY_BITMAP.length());
            for (DirtyBitmap b : bitmaps) {
                if (b.name().equals(name)) {
                    return b;
                }
            }
        }
        return null;
    }

    /** A new bitmap, all clean: it marks what is written from now on. */
    synchronized DirtyBitmap add(String name, int granularity) throws IOException {
        if (find(name) != null) {
            throw new IllegalArgumentException("export " + quoted(export) + " already has a bitmap named '" + name + "'");
        }
        DirtyBitmap b = new DirtyBitmap(name, granularity, true);
        if (store != null) {
            store.save(b, true);
        }
        List<DirtyBitmap> all = new ArrayList<>(bitmaps);
        all.add(b);
        bitmaps = List.copyOf(all);
        LOG.info("cbt: export {}: bitmap '{}' added (granularity {})", quoted(export), name, Units.formatSize(granularity));
        return b;
    }

    /** Every block clean again (after a backup), and an inconsistent bitmap consistent. */
    synchronized void clear(String name) {
        require(name).clear();
        LOG.info("cbt: export {}: bitmap '{}' cleared", quoted(export), name);
    }

    synchronized void remove(String name) throws IOException {
        DirtyBitmap b = require(name);
        List<DirtyBitmap> all = new ArrayList<>(bitmaps);
        all.remove(b);
        bitmaps = List.copyOf(all);
        if (store != null) {
            store.delete(name);
        }
        LOG.info("cbt: export {}: bitmap '{}' removed", quoted(export), name);
    }

    private DirtyBitmap find(String name) {
        return bitmaps.stream().filter(b -> b.name().equals(name)).findFirst().orElse(null);
    }

    private DirtyBitmap require(String name) {
        DirtyBitmap b = find(name);
        if (b == null) {
            throw new IllegalArgumentException("export " + quoted(export) + " has no bitmap named '" + name + "'"
                    + (bitmaps.isEmpty() ? " (it has none)" : " (it has " + String.join(", ", bitmaps.stream().map(DirtyBitmap::name).toList()) + ")"));
        }
        return b;
    }

    static String quoted(String export) {
        return export.isEmpty() ? "\"\"" : "'" + export + "'";
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        return new CbtHandle(next.open(client), this);
    }

    /** The layer below's meta contexts and one {@code qemu:dirty-bitmap:NAME} per bitmap. */
    @Override
    public List<String> metaContexts() {
        List<String> all = new ArrayList<>(next.metaContexts());
        bitmaps.forEach(b -> all.add(Extents.QEMU_DIRTY_BITMAP + b.name()));
        return all;
    }

    /** One line per bitmap, for nbd:chain. */
    @Override
    public List<String> status() {
        List<String> lines = new ArrayList<>();
        for (DirtyBitmap b : bitmaps) {
            long dirty = b.dirtyBlocks();
            lines.add("bitmap " + b.name() + ": granularity " + Units.formatSize(b.granularity()) + ", "
                    + (b.consistent() ? dirty + " block" + (dirty == 1 ? "" : "s") + " dirty (" + Units.formatSize(dirty * b.granularity()) + ")"
                    : "INCONSISTENT (not saved when its server stopped, or the filter was removed while the export ran): "
                            + "every block reads dirty until nbd:bitmap-clear")
                    + (store == null ? ", memory only" : ""));
        }
        if (lines.isEmpty()) {
            lines.add("no bitmaps (nbd:bitmap-add " + quoted(export) + " NAME)");
        }
        if (store != null) {
            lines.add("kept in " + store.dir());
        }
        return lines;
    }

    /**
     * Requests will reach the layers below without passing here: the bitmaps can no longer be
     * complete, so they become inconsistent (every block dirty) until cleared.
     */
    @Override
    public synchronized void removed() {
        bitmaps.forEach(DirtyBitmap::markInconsistent);
        LOG.warn("cbt: export {}: the filter is removed while the export runs; its bitmaps are inconsistent from now on",
                quoted(export));
    }

    /** The bitmaps for a successor (JDK types: name to bytes in the store's format), saved as well. */
    @Override
    public synchronized Object handOver() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (DirtyBitmap b : bitmaps) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try {
                b.write(bytes, false);
            } catch (IOException e) {
                throw new IllegalStateException(e);                 // a byte array does not fail
            }
            out.put(b.name(), bytes.toByteArray());
        }
        saveAll();
        handedOver = true;
        return out;
    }

    @Override
    public synchronized void close() {
        live.remove(this);
        if (!handedOver) {
            saveAll();
        }
    }

    private void saveAll() {
        if (store == null) {
            return;
        }
        for (DirtyBitmap b : bitmaps) {
            try {
                store.save(b, false);
            } catch (IOException e) {
                LOG.error("cbt: export {}: saving bitmap '{}' failed; it will come back inconsistent: {}", quoted(export),
                        b.name(), e.toString());
            }
        }
    }
}
