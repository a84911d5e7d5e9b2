package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.engine.protocol.BufferPool;

/**
 * The {@link Layer} a filter (or the engine, for the top of the chain) holds: opens handles on the
 * layer it points at, wraps each in a {@link Boundary} and registers it so the engine closes it.
 * Its target, the layer below, is fixed: a rewire builds a new chain with new ones.
 */
public final class NextLayer implements Layer {
    private final boolean isTop;
    private final HandleRegistry handles;
    private final List<Boundary> shared = new CopyOnWriteArrayList<>();
    private final BufferPool pool;
    private final boolean exportReadOnly;
    private final LayerInstance target;

    NextLayer(LayerInstance target, boolean isTop, HandleRegistry handles, BufferPool pool, boolean exportReadOnly) {
        this.target = target;
        this.isTop = isTop;
        this.handles = handles;
        this.pool = pool;
        this.exportReadOnly = exportReadOnly;
    }

    /** Closes the handles opened here outside any connection; called when the filter holding this closes. */
    void closeShared() {
        HandleRegistry.closeAll(shared);
    }

    @Override
    public Boundary open(ClientContext client) throws IOException {
        boolean readOnly = exportReadOnly || client.readOnly();
        ClientContext ctx = readOnly == client.readOnly() ? client : client.withReadOnly(true);
        Handle raw = target.openRaw(ctx);
        Boundary b;
        try {
            b = new Boundary(raw, target.name(), readOnly, pool);
        } catch (IOException | RuntimeException e) {
            try {
                raw.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        if (client.connectionId() == 0 || !handles.add(client.connectionId(), b)) {
            if (isTop) {
                b.close();
                throw new IllegalStateException("the top of a chain must be opened for a connection");
            }
            shared.add(b);
        }
        return b;
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnly) throws IOException {
        return target.listExports(readOnly);
    }

    @Override
    public String defaultExport() throws IOException {
        return target.defaultExport();
    }
}
