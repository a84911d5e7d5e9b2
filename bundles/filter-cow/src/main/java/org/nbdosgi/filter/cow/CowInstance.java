package org.nbdosgi.filter.cow;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cow filter of one export: its overlays, shared by every connection, so all clients see the
 * same writes (nbdkit's cow filter, unlike {@code nbd-server -c}). A layer below that serves one
 * thing whatever a client calls it gets one overlay, created with the export (so a bad
 * {@code $TMPDIR} shows at once); a layer below that lists names (a directory of files) gets one per
 * name, created on first use, so writes to two files never mix. The layer below is opened
 * read-only. Control plane: create, open (a client connecting), hand-over and close.
 */
final class CowInstance implements FilterInstance {
    private static final Logger LOG = LoggerFactory.getLogger(CowInstance.class);

    private final CowOptions options;
    private final Layer next;
    private final Map<String, Overlay> overlays = new LinkedHashMap<>();                  // guarded by this
    /** Overlays handed over by a predecessor and not adopted (yet), by name, oldest first. */
    private final Map<String, List<Object>> inherited = new HashMap<>();                  // guarded by this
    private boolean handedOver;                                                            // guarded by this

    private CowInstance(CowOptions options, ExportContext export, Layer next) {
        this.options = options;
        this.next = next;
        export.inheritedState().filter(s -> s instanceof Map<?, ?>).ifPresent(s -> ((Map<?, ?>) s).forEach((k, v) -> {
            if (v instanceof List<?> candidates) {
                inherited.put(String.valueOf(k), new ArrayList<>(candidates));
            }
        }));
    }

    static CowInstance create(CowOptions options, ExportContext export, Layer next) throws ConfigException {
        CowInstance instance = new CowInstance(options, export, next);
        try {
            if (!instance.namesBelow()) {
                // for the size; the engine closes this handle after the instance
                instance.overlayFor("", next.open(new ClientContext("", true, "cow", 0)));
            }
        } catch (IOException e) {
            instance.close();
            throw new ConfigException(e.getMessage(), e);
        }
        return instance;
    }

    private boolean namesBelow() throws IOException {
        return !next.listExports(true).isEmpty();
    }

    /** The layer below's meta contexts (they pass through), and qemu:allocation-depth, answered here. */
    @Override
    public List<String> metaContexts() {
        List<String> all = new ArrayList<>(next.metaContexts());
        all.remove(Extents.QEMU_ALLOCATION_DEPTH);
        all.add(Extents.QEMU_ALLOCATION_DEPTH);
        return all;
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        Handle below = next.open(client.withReadOnly(true));
        String key = namesBelow() ? (client.exportName().isEmpty() ? next.defaultExport() : client.exportName()) : "";
        return new CowHandle(below, overlayFor(key, below), options, client.readOnly());
    }

    /** The overlay of one name: one a predecessor handed over if it fits (same size and block size), else a new one. */
    private synchronized Overlay overlayFor(String name, Handle below) throws IOException {
        Overlay o = overlays.get(name);
        if (o == null) {
            long size = below.size();
            int blockSize = Math.max(options.blockSize(), below.blockSize().minimum());
            for (Iterator<Object> it = inherited.getOrDefault(name, List.of()).iterator(); o == null && it.hasNext(); ) {
                Object candidate = it.next();
                o = Overlay.adopt(candidate, size, blockSize, options.dir());
                if (o != null) {
                    it.remove();
                    LOG.info("cow: '{}': the session's writes carried over from the previous cow filter", name);
                }
            }
            if (o == null) {
                o = Overlay.create(options.dir(), size, blockSize);
                LOG.debug("cow: '{}': an overlay of {} bytes in blocks of {} in {}", name, size, blockSize, options.dir());
            }
            overlays.put(name, o);
        }
        return o;
    }

    /**
     * A hot swap or rewire keeps the session's writes: every overlay (its open, unlinked file and
     * its block states, JDK types only) passes to the next cow filter of this export, together with
     * any this one inherited and could not use, so that a refused change brings the old ones back.
     * They are then not closed here.
     */
    @Override
    public synchronized Object handOver() {
        Map<String, List<Object>> state = new HashMap<>();
        inherited.forEach((name, candidates) -> state.put(name, new ArrayList<>(candidates)));
        overlays.forEach((name, o) -> state.computeIfAbsent(name, n -> new ArrayList<>()).add(o.state()));
        handedOver = true;
        return state;
    }

    /** The overlay files are deleted already; closing them (and inherited ones nobody adopted) gives their space back. */
    @Override
    public synchronized void close() {
        List<AutoCloseable> all = new ArrayList<>(overlays.values());
        inherited.values().forEach(candidates -> candidates.forEach(s -> Overlay.channelOf(s).ifPresent(all::add)));
        overlays.clear();
        inherited.clear();
        if (handedOver) {
            return;
        }
        for (AutoCloseable o : all) {
            try {
                o.close();
            } catch (Exception e) {
                LOG.debug("cow: closing an overlay failed", e);
            }
        }
    }
}
