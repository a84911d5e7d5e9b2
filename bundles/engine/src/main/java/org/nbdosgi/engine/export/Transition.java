package org.nbdosgi.engine.export;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.chain.Catalog;
import org.nbdosgi.engine.chain.Chain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one way an export's layers change: from what it has alive (its running chain, the bottom
 * part kept while it is parked, or nothing) to the chain of a spec ({@link #to}), or down to the
 * layers below a bundle that goes ({@link #park}). Export start, rewire, resume after parking and
 * restore after a refused change (a transition back to the old spec) are all this. Control plane.
 *
 * <p>{@link #to}, step by step:
 * <ol>
 *   <li><b>plan</b>: the spec is resolved against the catalog, and the bottom layers it leaves as
 *       they are (same plugin or filter, same parameters, and everything below them the same)
 *       are found. A bad spec is refused here, before anything changes.</li>
 *   <li><b>drain</b>: the gate closes; new requests wait, those in flight finish.</li>
 *   <li><b>take apart</b> the layers above the kept ones: every client's handles on them close
 *       (its handles on kept layers are put aside), and they hand over their state or close.</li>
 *   <li><b>build</b> the new layers over the kept ones, with the state handed over.</li>
 *   <li><b>reopen</b> each client's chain: where a kept layer is asked for the same handle again, the
 *       client gets the one put aside; compare what it is now offered with what it was promised.</li>
 *   <li><b>commit</b>: clients move to their new handles, unclaimed handles close, the gate opens;
 *       or <b>roll back</b>: the new layers are taken apart the same way and the export goes back to
 *       its old spec (a running export is rebuilt from what its layers handed over).</li>
 * </ol>
 */
public final class Transition {
    private static final Logger LOG = LoggerFactory.getLogger(Transition.class);

    /** What happens to clients whose promise the new chain would break. */
    public enum OnBroken {
        /** The change is refused and rolled back. */
        REFUSE,
        /** The change is made and those clients are disconnected. */
        DISCONNECT
    }

    /** A change refused because it would break what connected clients were promised. */
    public static final class Refused extends ConfigException {
        private static final long serialVersionUID = 1L;

        Refused(List<String> broken) {
            super("refused: " + String.join("; ", broken) + " (--force disconnects "
                    + (broken.size() == 1 ? "that client" : "those clients") + ")");
        }
    }

    private final Export export;
    private final Catalog catalog;
    private final BufferPool pool;
    private long pausedNanos;

    public Transition(Export export, Catalog catalog, BufferPool pool) {
        this.export = export;
        this.catalog = catalog;
        this.pool = pool;
    }

    /**
     * Moves the export to the chain of {@code spec}; on return it runs that chain.
     *
     * @throws ConfigException the spec cannot start (bad parameters, a layer that fails), or
     *                         ({@link Refused}, with {@link OnBroken#REFUSE}) it would break a client's
     *                         promise. The export is then as it was: a running one runs its old spec
     *                         again, a stopped one stays stopped with what it kept.
     */
    public void to(ExportSpec spec, OnBroken onBroken) throws ConfigException {
        Chain from = export.layers();
        Chain.Plan plan = from.plan(spec, catalog);
        ExportSpec oldSpec = export.spec();
        ExportState oldState = export.state();
        String oldMessage = export.message();
        boolean wasOpen = !export.gate().isClosed();
        long start = System.nanoTime();
        drain();
        long drained = System.nanoTime();
        try {
            Chain.HandedOver states = export.parkedState();
            Chain kept = takeApart(from, plan.kept(), plan, states);
            long takenApart = System.nanoTime();
            Chain next;
            try {
                next = Chain.build(plan, states, export.stateDirectory(), export.handles(), pool);
            } catch (ConfigException e) {
                back(oldSpec, oldState, oldMessage, kept, states);
                throw e;
            }
            long built = System.nanoTime();
            List<Reopened> reopened = reopen(next);
            LOG.debug("export '{}': drained in {} us, {} layers taken apart in {} us, {} built in {} us, {} clients reopened in {} us",
                    export.name(), (drained - start) / 1000, from.above(plan.kept()).size(), (takenApart - drained) / 1000,
                    next.above(plan.kept()).size(), (built - takenApart) / 1000, reopened.size(), (System.nanoTime() - built) / 1000);
            List<String> broken = brokenPromises(reopened);
            if (!broken.isEmpty() && onBroken == OnBroken.REFUSE) {
                back(oldSpec, oldState, oldMessage, takeApart(next, plan.kept(), null, states), states);
                throw new Refused(broken);
            }
            commit(reopened);
            learnSize(next, reopened);
            export.running(spec, next);
        } finally {
            if (wasOpen || export.state() == ExportState.RUNNING) {
                export.gate().open();
            }
            pausedNanos = System.nanoTime() - start;
        }
    }

    /** How long the last {@link #to} kept the export drained (from closing the gate to opening it). */
    public long pausedNanos() {
        return pausedNanos;
    }

    /**
     * A bundle is going: the layers from the outermost down to the last one {@code service} created
     * are taken apart, each handing over its state for a successor; the layers below stay alive,
     * with their state and the clients' handles. The export parks with its gate closed, so
     * requests wait. Nothing to do if no layer uses {@code service}.
     */
    public void park(Object service, String why) {
        Chain from = export.layers();
        if (!from.uses(service)) {
            return;
        }
        drain();
        Chain.HandedOver states = export.parkedState();
        Chain kept = takeApart(from, from.keptWithout(service), null, states);
        export.stopped(ExportState.PARKED, why, kept, states);
    }

    private void drain() {
        if (!export.gate().isClosed()) {
            try {
                export.gate().close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while draining export '" + export.name() + "'", e);
            }
        }
    }

    /**
     * Closes every client's handles on the layers above the bottom {@code keep} (putting the others
     * aside) and takes those layers apart into {@code states}; returns the kept part.
     */
    private Chain takeApart(Chain chain, int keep, Chain.Plan plan, Chain.HandedOver states) {
        export.handles().retire(chain.above(keep));
        states.updatedBy(chain.dismantleAbove(keep, plan));
        return chain.bottom(keep, export.handles(), pool);
    }

    /**
     * After a failed or refused change: a running export runs its old spec again, rebuilt over the
     * kept layers from what the others handed over (clients whose promise even that breaks are
     * disconnected; if it fails, the export fails and every client is disconnected); a stopped one
     * stays as it was, with what it kept.
     */
    private void back(ExportSpec oldSpec, ExportState oldState, String oldMessage, Chain kept, Chain.HandedOver states) {
        if (oldState != ExportState.RUNNING) {
            export.stopped(oldState, oldMessage, kept, states);
            return;
        }
        export.stopped(ExportState.FAILED, "the previous chain is being restored", kept, states);
        try {
            to(oldSpec, OnBroken.DISCONNECT);
        } catch (ConfigException e) {
            LOG.error("export '{}': the previous chain could not be restored: {}", export.name(), e.getMessage());
            export.failed(ExportState.FAILED, "the previous chain could not be restored: " + e.getMessage());
            export.sessions().forEach(s -> s.disconnect("export '" + export.name() + "' failed"));
        }
    }

    private record Reopened(Session session, Boundary top, List<String> broken) {
    }

    /**
     * Opens the new chain for each client and compares it with what the client was promised: its
     * {@link Promise}, and the meta contexts it selected.
     */
    private List<Reopened> reopen(Chain chain) {
        List<Reopened> out = new ArrayList<>();
        List<String> contexts = chain.metaContexts();
        for (Session s : export.sessions()) {
            try {
                Boundary top = chain.open(s.client());
                List<String> broken = new ArrayList<>(s.promise().brokenBy(Promise.of(top.capabilities())));
                s.metaContexts().stream().filter(c -> !contexts.contains(c)).forEach(c -> broken.add("meta context " + c));
                out.add(new Reopened(s, top, broken));
            } catch (IOException | RuntimeException e) {
                out.add(new Reopened(s, null, List.of("cannot reopen: " + e.getMessage())));
            }
        }
        return out;
    }

    private List<String> brokenPromises(List<Reopened> reopened) {
        List<String> out = new ArrayList<>();
        for (Reopened r : reopened) {
            if (!r.broken.isEmpty()) {
                out.add("client " + r.session.client().connectionId() + " (" + r.session.client().clientAddress()
                        + ") on export '" + export.name() + "' was promised " + String.join(", ", r.broken));
            }
        }
        return out;
    }

    /** Clients whose promise holds move to their new handles; the others are disconnected. */
    private void commit(List<Reopened> reopened) {
        for (Reopened r : reopened) {
            if (r.broken.isEmpty()) {
                r.session.replaceTop(r.top);
            } else {
                export.handles().end(r.session.client().connectionId());
                LOG.info("export '{}': disconnecting client {}: the new chain no longer offers {}", export.name(),
                        r.session.client().connectionId(), String.join(", ", r.broken));
                r.session.disconnect("export '" + export.name() + "' changed: no longer offers " + String.join(", ", r.broken));
            }
        }
        export.handles().settle();
    }

    /**
     * The default export's size: from a client that has it open, or else by opening it once (which
     * a client-less export needs anyway, and a rewire with such a client spares: no extra handle on
     * a layer that keeps its own).
     */
    private void learnSize(Chain chain, List<Reopened> reopened) {
        String name;
        try {
            name = chain.defaultExport();
        } catch (IOException | RuntimeException e) {
            name = null;
        }
        for (Reopened r : reopened) {
            if (r.broken.isEmpty() && r.session.client().exportName().equals(name)) {
                chain.knownDefault(name, r.top.size());
                return;
            }
        }
        chain.probe(export.name(), export.handles());
    }
}
