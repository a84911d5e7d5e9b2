package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.engine.protocol.BufferPool;

/**
 * The {@link Layer} a filter (or the engine, for the top of the chain) holds: opens handles on the
 * layer it points at, wraps each in a {@link Boundary} and registers it so the engine closes it
 * (under the handle above, when a filter opens it from its own open; see {@link HandleRegistry}).
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
        Boundary b = openBoundary(client);
        List<Boundary> home = handles.homeFor(client.connectionId());
        if (home == null) {
            if (isTop) {
                b.close();
                throw new IllegalStateException("the top of a chain must be opened for a connection");
            }
            home = shared;
        }
        synchronized (home) {
            home.add(b);
        }
        b.home = home;
        return b;
    }

    /**
     * Closes {@code handle} and the handles opened under it, then opens the layer again and keeps the
     * new handle where the old one was, so it still closes after the handles above it. On failure
     * the old handle stays closed in its place, to be reopened again.
     */
    @Override
    public Boundary reopen(Handle handle, ClientContext client) throws IOException {
        if (!(handle instanceof Boundary old) || old.home == null) {
            throw new IllegalArgumentException("reopen: not a handle of this layer");
        }
        List<Boundary> home = old.home;
        synchronized (home) {
            if (!home.contains(old)) {
                throw new IllegalArgumentException("reopen: the handle is no longer open here");
            }
        }
        old.close();
        Boundary b = openBoundary(client);
        synchronized (home) {
            int i = home.indexOf(old);
            if (i < 0) {                          // the connection ended meanwhile
                b.close();
                throw new NbdException(NbdError.ESHUTDOWN, "the connection is closing");
            }
            home.set(i, b);
        }
        b.home = home;
        return b;
    }

    /** Opens the layer's raw handle, collecting the handles the layers below open meanwhile, and wraps it. */
    private Boundary openBoundary(ClientContext client) throws IOException {
        boolean readOnly = exportReadOnly || client.readOnly();
        ClientContext ctx = readOnly == client.readOnly() ? client : client.withReadOnly(true);
        List<Boundary> below = new ArrayList<>();
        HandleRegistry.Opening outer = handles.enter(client.connectionId(), below);
        Handle raw;
        try {
            raw = target.openRaw(ctx);
        } catch (IOException | RuntimeException e) {
            HandleRegistry.closeAll(below);
            throw e;
        } finally {
            handles.leave(outer);
        }
        try {
            return new Boundary(raw, target.name(), readOnly, pool, below);
        } catch (IOException | RuntimeException e) {
            try {
                raw.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            HandleRegistry.closeAll(below);
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
}
