package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
    /** The handles opened outside any connection, with the context each was opened with, in the order opened. */
    private final Map<Boundary, ClientContext> shared = new LinkedHashMap<>();           // guarded by itself
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
        List<Boundary> all;
        synchronized (shared) {
            all = List.copyOf(shared.keySet());
            shared.clear();
        }
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
            synchronized (shared) {
                shared.put(b, ctx);
            }
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

    /**
     * Closes {@code handle} and what was opened below it for its client, and opens this layer again
     * with the context the handle was opened with (a retrying filter's fresh connection); the new
     * handles take the old ones' place, so the connection still closes them after the handles above.
     * If the open fails, the closed old handles stay in their place, to be reopened again. Data
     * plane; no request uses {@code handle} any more.
     */
    @Override
    public Boundary reopen(Handle handle, ClientContext client) throws IOException {
        ClientContext ctx;
        synchronized (shared) {
            ctx = shared.remove(handle);
        }
        if (ctx != null) {
            HandleRegistry.closeAll(List.of((Boundary) handle));
            try {
                return open(ctx);
            } catch (IOException | RuntimeException e) {
                synchronized (shared) {
                    shared.put((Boundary) handle, ctx);
                }
                throw e;
            }
        }
        HandleRegistry.Released released = handles.release(client.connectionId(), target, handle);
        if (released == null) {
            throw new IllegalArgumentException("reopen: not a handle this layer opened for connection " + client.connectionId());
        }
        int before = released.opening().size();
        Boundary fresh = null;
        try {
            fresh = open(released.client());
            return fresh;
        } finally {
            released.opening().putBack(released, before, fresh != null);
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
