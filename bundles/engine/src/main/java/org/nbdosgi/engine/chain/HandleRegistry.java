package org.nbdosgi.engine.chain;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Handle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handles each connection has open on each layer of one export, so the engine (not the
 * filters) closes them: all of a connection's handles when it disconnects, top layer first, and
 * those on the layers a rewire replaces.
 *
 * <p>Across a rewire: {@link #retire} closes every connection's handles on the layers that go and
 * keeps the rest aside; while the connections reopen on the new chain, a layer asked for a handle
 * with the same client context as one kept aside gets that handle back, together with every handle
 * it was opened over ({@link Opening#reuse}); {@link #settle} then closes what nobody took back.
 * So a layer below the change keeps its per-connection handles when the handle below it is
 * unchanged. Handles opened outside a connection (id 0) belong to the filter instance that opened
 * them and close with it.
 *
 * <p>A connection's handles are opened one at a time (on its own thread when it attaches, on the
 * control plane while its export is drained); a filter opens what it needs below on the thread that
 * opens its own handle.
 */
public final class HandleRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(HandleRegistry.class);

    private final ConcurrentHashMap<Long, Opening> byConnection = new ConcurrentHashMap<>();

    /** One handle of a connection on one layer, with the handles opened below it while it opened. */
    private static final class Opened {
        final LayerInstance layer;
        final ClientContext client;
        final Boundary handle;
        final List<Opened> below;                  // guarded by the connection's Opening

        Opened(LayerInstance layer, ClientContext client, Boundary handle, List<Opened> below) {
            this.layer = layer;
            this.client = client;
            this.handle = handle;
            this.below = new ArrayList<>(below);
        }
    }

    /** What {@link #release} took out, so the reopened handle goes back in its place. */
    record Released(Opening opening, ClientContext client, Opened old, List<Opened> gone, Opened parent, int index) {
    }

    /** Starts collecting the handles of a connection about to open the chain. */
    public void begin(long connectionId) {
        byConnection.put(connectionId, new Opening());
    }

    /** Closes every handle of the connection, the last opened (the top layer) first. */
    public void end(long connectionId) {
        Opening o = byConnection.remove(connectionId);
        if (o != null) {
            closeAll(o.takeAll().stream().map(x -> x.handle).toList());
        }
    }

    /** The connection's handles being opened, or null if it is not tracked. */
    Opening opening(long connectionId) {
        return byConnection.get(connectionId);
    }

    /**
     * Control plane, export drained: closes every connection's handles on {@code going} (top first)
     * and keeps the others aside for the connections to take back while they reopen.
     */
    public void retire(Collection<LayerInstance> going) {
        for (Opening o : byConnection.values()) {
            closeAll(o.retire(going).stream().map(x -> x.handle).toList());
        }
    }

    /**
     * Closes the connection's handle on {@code layer} and every handle opened below it for that
     * connection (top first), to open it again; null if the connection has no such handle open.
     * Data plane (a retrying filter), with no request on that handle.
     */
    Released release(long connectionId, LayerInstance layer, Handle handle) {
        Opening o = byConnection.get(connectionId);
        return o == null ? null : o.release(layer, handle);
    }

    /** Control plane, export drained: closes every handle kept aside that no connection took back. */
    public void settle() {
        for (Opening o : byConnection.values()) {
            closeAll(o.takeAside().stream().map(x -> x.handle).toList());
        }
    }

    /** The handles of one connection. Its methods run one at a time (see the class comment). */
    static final class Opening {
        /** Open handles, each after the handles it was opened over. */
        private final List<Opened> open = new ArrayList<>();
        /** Kept aside by a rewire until taken back. */
        private final List<Opened> aside = new ArrayList<>();
        /** For each open in progress (nested: a filter opens the layer below), what it opened below so far. */
        private final Deque<List<Opened>> nested = new ArrayDeque<>();

        /** A handle kept aside on {@code layer} for the same client, taken back with what is below it; or null. */
        synchronized Boundary reuse(LayerInstance layer, ClientContext client) {
            for (Opened o : aside) {
                if (o.layer == layer && o.client.equals(client) && !o.handle.isClosed()) {   // a failed reopen leaves closed ones
                    takeBack(o);
                    record(o);
                    return o.handle;
                }
            }
            return null;
        }

        private void takeBack(Opened o) {
            if (aside.remove(o)) {
                o.below.forEach(this::takeBack);
                open.add(o);
            }
        }

        /** An open of a new handle starts: what it opens below is recorded as its own. */
        synchronized void enter() {
            nested.push(new ArrayList<>());
        }

        /** The open that {@link #enter} started ended: {@code handle} is the new handle, null if it failed. */
        synchronized void leave(LayerInstance layer, ClientContext client, Boundary handle) {
            List<Opened> below = nested.pop();
            if (handle == null) {
                below.forEach(this::record);                 // still open: they close with the connection
                return;
            }
            Opened o = new Opened(layer, client, handle, List.copyOf(below));
            open.add(o);
            record(o);
        }

        private void record(Opened o) {
            if (!nested.isEmpty()) {
                nested.peek().add(o);
            }
        }

        /** Takes out and closes the open handle on {@code layer} that is {@code handle}, and what is below it; or null. */
        Released release(LayerInstance layer, Handle handle) {
            List<Opened> gone = new ArrayList<>();
            Released r;
            synchronized (this) {
                Opened found = null;
                for (Opened o : open) {
                    if (o.layer == layer && o.handle == handle) {
                        found = o;
                        break;
                    }
                }
                if (found == null) {
                    return null;
                }
                collect(found, gone);
                Opened parent = null;
                for (Opened o : open) {
                    if (o.below.contains(found)) {
                        parent = o;
                    }
                }
                r = new Released(this, found.client, found, List.copyOf(gone), parent, open.indexOf(gone.get(0)));
                open.removeAll(gone);
            }
            closeAll(gone.stream().map(x -> x.handle).toList());
            return r;
        }

        /** {@code o} and what is below it, children first. */
        private void collect(Opened o, List<Opened> out) {
            if (open.contains(o) && !out.contains(o)) {
                o.below.forEach(b -> collect(b, out));
                out.add(o);
            }
        }

        /**
         * After a reopen: the handles opened since the list had {@code sizeBefore} entries go where
         * the released ones were; if the open failed, the released (closed) ones go back too, so a
         * later reopen finds them and the connection's end passes over them.
         */
        synchronized void putBack(Released r, int sizeBefore, boolean reopened) {
            List<Opened> added = new ArrayList<>(open.subList(sizeBefore, open.size()));
            open.subList(sizeBefore, open.size()).clear();
            if (!reopened) {
                added.addAll(r.gone());
            }
            open.addAll(Math.min(r.index(), open.size()), added);
            if (reopened && r.parent() != null && !added.isEmpty()) {
                Opened fresh = added.get(added.size() - 1);
                r.parent().below.replaceAll(x -> x == r.old() ? fresh : x);
            }
        }

        synchronized int size() {
            return open.size();
        }

        synchronized List<Opened> retire(Collection<LayerInstance> going) {
            List<Opened> all = new ArrayList<>(aside);
            all.addAll(open);
            open.clear();
            aside.clear();
            List<Opened> closing = new ArrayList<>();
            for (Opened o : all) {
                (going.contains(o.layer) ? closing : aside).add(o);
            }
            return closing;
        }

        synchronized List<Opened> takeAside() {
            List<Opened> out = new ArrayList<>(aside);
            aside.clear();
            return out;
        }

        synchronized List<Opened> takeAll() {
            List<Opened> out = new ArrayList<>(aside);
            out.addAll(open);
            open.clear();
            aside.clear();
            return out;
        }
    }

    /** Closes the handles, the last in the list (the top layer's) first. */
    static void closeAll(List<Boundary> handles) {
        for (int i = handles.size() - 1; i >= 0; i--) {
            try {
                handles.get(i).close();
            } catch (Exception e) {
                LOG.warn("{}: closing a handle failed: {}", handles.get(i).layer(), e.getMessage());
            }
        }
    }
}
