package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.common.buffers.BufferPool;

/**
 * The {@link Layer} a filter (or the engine, for the top of the chain) holds: opens handles on one
 * layer, wraps each in a {@link Boundary} and registers it under its connection, so the engine
 * closes it. During a rewire a connection gets back the handle it already has on a layer that the
 * rewire keeps, when asked for it with the same client context (see {@link HandleRegistry}).
 * Handles opened outside any connection (id 0) belong to the filter holding this object and close
 * with it.
 */
final class NextLayer implements Layer {
    private final boolean isTop;
    private final HandleRegistry handles;
    private final List<Boundary> shared = new CopyOnWriteArrayList<>();
    private final BufferPool pool;
    private final boolean exportReadOnly;
    private final LayerInstance target;

    NextLayer(boolean isTop, HandleRegistry handles, BufferPool pool, boolean exportReadOnly, LayerInstance target) {
        this.isTop = isTop;
        this.handles = handles;
        this.pool = pool;
        this.exportReadOnly = exportReadOnly;
        this.target = target;
    }

    /** Closes the handles opened here outside any connection; called when the filter holding this closes. */
    void closeShared() {
        List<Boundary> all = List.copyOf(shared);
        shared.clear();
        HandleRegistry.closeAll(all);
    }

    @Override
    public Boundary open(ClientContext client) throws IOException {
        boolean readOnly = exportReadOnly || client.readOnly();
        ClientContext ctx = readOnly == client.readOnly() ? client : client.withReadOnly(true);
        HandleRegistry.Opening opening = client.connectionId() == 0 ? null : handles.opening(ctx.connectionId());
        if (opening == null) {
            if (isTop) {
                throw new IllegalStateException("the top of a chain must be opened for a connection");
            }
            Boundary b = openNew(ctx);
            shared.add(b);
            return b;
        }
        Boundary kept = opening.reuse(target, ctx);
        if (kept != null) {
            return kept;
        }
        opening.enter();
        Boundary b = null;
        try {
            b = openNew(ctx);
            return b;
        } finally {
            opening.leave(target, ctx, b);
        }
    }

    private Boundary openNew(ClientContext ctx) throws IOException {
        Handle raw = target.openRaw(ctx);
        try {
            return new Boundary(raw, target.name(), exportReadOnly || ctx.readOnly(), pool);
        } catch (IOException | RuntimeException e) {
            try {
                raw.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnly) throws IOException {
        return target.listExports(readOnly);
    }

    @Override
    public String defaultExport() throws IOException {
        return target.defaultExport();
    }

    @Override
    public List<String> metaContexts() {
        return target.metaContexts();
    }
}
