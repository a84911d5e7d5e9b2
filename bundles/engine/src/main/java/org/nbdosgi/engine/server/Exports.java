package org.nbdosgi.engine.server;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportInfo;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.ExportState;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.chain.Catalog;
import org.nbdosgi.engine.chain.Chain;
import org.nbdosgi.engine.export.Export;
import org.nbdosgi.engine.export.Promise;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.protocol.BufferPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exports and everything that changes their shape: start, rewire, park when a plugin or filter
 * bundle goes, resume when it comes back, remove. Control plane only (each method says so by
 * checking), except the lookups connections make. Every change happens with the export drained:
 * the gate closed, no request inside, so handles are only ever closed under no one's feet.
 */
final class Exports {
    private static final Logger LOG = LoggerFactory.getLogger(Exports.class);

    private final Map<String, Export> exports = new ConcurrentHashMap<>();
    private final Catalog catalog;
    private final BufferPool pool;
    private final ControlPlane control;
    private final long parkTimeoutMillis;

    Exports(Catalog catalog, BufferPool pool, ControlPlane control, long parkTimeoutMillis) {
        this.catalog = catalog;
        this.pool = pool;
        this.control = control;
        this.parkTimeoutMillis = parkTimeoutMillis;
    }

    // ---- lookups (any thread) ------------------------------------------------------------

    Export get(String name) {
        return exports.get(name);
    }

    Collection<Export> all() {
        return exports.values();
    }

    static ExportInfo info(Export e) {
        Chain c = e.chain();
        return new ExportInfo(e.spec(), e.state(), e.message(), e.size(), c == null ? null : c.threadModel(),
                e.sessions().size(), c == null ? List.of() : c.info());
    }

    // ---- creating and removing -----------------------------------------------------------

    /** A new export that must start now (command line, console); nothing is kept if it cannot. */
    ExportInfo add(ExportSpec spec, boolean catchAll) throws ConfigException {
        checkControlPlane();
        if (exports.containsKey(spec.name())) {
            throw new ConfigException("an export named '" + spec.name() + "' already exists");
        }
        Export other = catchAllOtherThan(spec.name());
        if (catchAll && other != null) {
            throw new ConfigException("export '" + other.name() + "' already serves every unknown name (one catch-all export at most)");
        }
        Export e = newExport(spec, catchAll);
        e.running(spec, Chain.build(spec, catalog, Chain.HandedOver.none(), e.handles(), pool));
        exports.put(spec.name(), e);
        LOG.info("export '{}' started: {}", spec.name(), describe(spec));
        return info(e);
    }

    /**
     * An export from a configuration file: kept even when it cannot start (waiting for its plugin,
     * or failed with the reason). The same spec again is nothing to do; a different one rewires it,
     * and a refused rewire leaves a note on the export instead of failing.
     */
    ExportInfo addConfigured(ExportSpec spec, boolean catchAll) throws InterruptedException {
        checkControlPlane();
        Export other = catchAllOtherThan(spec.name());
        if (catchAll && other != null) {
            LOG.error("export '{}': catchall ignored: export '{}' already serves every unknown name", spec.name(), other.name());
            catchAll = false;
        }
        Export existing = exports.get(spec.name());
        if (existing != null) {
            existing.catchAll(catchAll);
            if (sameExport(existing.spec(), spec)) {
                LOG.debug("export '{}': its configuration describes the export as it is", spec.name());
            } else if (existing.state() != ExportState.RUNNING) {
                existing.respec(spec);                       // the file is the truth: the export waits as written
                tryStart(existing);
            } else {
                try {
                    rewire(spec.name(), spec, false);
                } catch (ConfigException e) {
                    existing.note("configuration change refused: " + e.getMessage());
                    LOG.error("export '{}': configuration change refused: {}", spec.name(), e.getMessage());
                }
            }
            return info(existing);
        }
        Export e = newExport(spec, catchAll);
        exports.put(spec.name(), e);
        tryStart(e);
        return info(e);
    }

    /**
     * Whether two specs describe the same export once a bare value is named after the plugin's
     * magic parameter: the console writes {@code memory 64M} back to etc/ as {@code size = 64M}.
     */
    private boolean sameExport(ExportSpec a, ExportSpec b) {
        return a.equals(b) || named(a).equals(named(b));
    }

    private ExportSpec named(ExportSpec spec) {
        Plugin plugin = catalog.plugin(spec.plugin());
        String magic = plugin == null ? null : plugin.magicParameter();
        if (magic == null || !spec.params().containsKey(ExportSpec.MAGIC_KEY)) {
            return spec;
        }
        Map<String, String> params = new LinkedHashMap<>();
        spec.params().forEach((k, v) -> params.put(k.equals(ExportSpec.MAGIC_KEY) ? magic : k, v));
        return new ExportSpec(spec.name(), spec.plugin(), spec.filters(), params, spec.readOnly());
    }

    /** The export for the log: secret values masked, those its layers declare too. */
    private String describe(ExportSpec spec) {
        return spec.describe(Chain.declared(spec, catalog));
    }

    /** The export that serves unknown names, if it is not the one named {@code name}; else null. */
    private Export catchAllOtherThan(String name) {
        return exports.values().stream().filter(e -> e.catchAll() && !e.name().equals(name)).findFirst().orElse(null);
    }

    private Export newExport(ExportSpec spec, boolean catchAll) {
        return new Export(spec, catchAll, control::isCurrent, parkTimeoutMillis);
    }

    /** Drains the export, disconnects its clients, closes its chain. */
    void remove(String name) throws ConfigException, InterruptedException {
        checkControlPlane();
        Export e = exports.remove(name);
        if (e == null) {
            throw new ConfigException("no export named '" + name + "'");
        }
        e.gate().close();
        Chain chain = e.chain();
        e.failed(ExportState.FAILED, "the export was removed");
        e.sessions().forEach(s -> s.disconnect("export '" + name + "' was removed"));
        e.gate().open();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!e.sessions().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        List.copyOf(e.sessions()).forEach(Session::close);
        if (chain != null) {
            chain.close();
        }
        LOG.info("export '{}' stopped", name);
    }

    /** Removes the exports built with {@code service}. */
    void removeUsing(Object service) throws InterruptedException {
        for (Export e : List.copyOf(exports.values())) {
            if (e.chain() != null && e.chain().uses(service)) {
                try {
                    remove(e.name());
                } catch (ConfigException gone) {
                    // removed meanwhile
                }
            }
        }
    }

    void removeAll() throws InterruptedException {
        for (String name : List.copyOf(exports.keySet())) {
            try {
                remove(name);
            } catch (ConfigException gone) {
                // removed meanwhile
            }
        }
    }

    // ---- rewiring -------------------------------------------------------------------------

    /**
     * Changes a running export's chain under drain; refused (old chain back, clients untouched)
     * when the new chain cannot start or breaks a client's promise without {@code force}. A parked
     * or failed export takes the new chain only if it starts now, with the same promise check;
     * otherwise it is refused and stays as it was.
     */
    ExportInfo rewire(String name, ExportSpec spec, boolean force) throws ConfigException, InterruptedException {
        checkControlPlane();
        Export e = exports.get(name);
        if (e == null) {
            throw new ConfigException("no export named '" + name + "'");
        }
        if (!spec.name().equals(name)) {
            throw new ConfigException("a rewire cannot rename export '" + name + "'");
        }
        if (e.state() != ExportState.RUNNING) {
            return rewireStopped(e, spec, force);
        }
        ExportSpec old = e.spec();
        e.gate().close();
        try {
            Chain.HandedOver states = takeApart(e, spec);
            Chain next;
            try {
                next = Chain.build(spec, catalog, states, e.handles(), pool);
            } catch (ConfigException ex) {
                restore(e, old, states);
                throw ex;
            }
            List<Reopened> reopened = reopen(e, next);
            List<String> broken = brokenPromises(e, reopened);
            if (!broken.isEmpty() && !force) {
                reopened.forEach(r -> e.handles().end(r.session.client().connectionId()));
                restore(e, old, states.updatedBy(next.dismantle()));   // and the old plugin's state if next replaced it
                throw refused(broken);
            }
            commit(e, reopened);
            e.running(spec, next);
            LOG.info("export '{}' rewired: {}", name, describe(spec));
            return info(e);
        } finally {
            e.gate().open();
        }
    }

    /**
     * A parked or failed export (no chain, its layers' state kept) takes {@code spec} if the chain
     * starts now and keeps the waiting clients' promises; then it runs and its waiting requests go on.
     */
    private ExportInfo rewireStopped(Export e, ExportSpec spec, boolean force) throws ConfigException {
        String was = "export '" + e.name() + "' is " + e.state().name().toLowerCase()
                + (e.message() == null ? "" : " (" + e.message() + ")");
        String missing = missingService(spec);
        if (missing != null) {
            throw new ConfigException(was + " and the new chain cannot start either: no " + missing + "; nothing changed");
        }
        Chain.HandedOver states = e.parkedState();
        Chain next;
        try {
            next = Chain.build(spec, catalog, states, e.handles(), pool);   // on failure the states go back
        } catch (ConfigException ex) {
            throw new ConfigException(was + " and the new chain cannot start either: " + ex.getMessage() + "; nothing changed", ex);
        }
        List<Reopened> reopened = reopen(e, next);
        List<String> broken = brokenPromises(e, reopened);
        if (!broken.isEmpty() && !force) {
            reopened.forEach(r -> e.handles().end(r.session.client().connectionId()));
            states.updatedBy(next.dismantle());   // takes back what the new chain was given
            throw refused(broken);
        }
        commit(e, reopened);
        e.running(spec, next);
        if (e.gate().isClosed()) {
            e.gate().open();
        }
        LOG.info("export '{}' rewired: {}", e.name(), describe(spec));
        return info(e);
    }

    private static ConfigException refused(List<String> broken) {
        return new ConfigException("refused: " + String.join("; ", broken) + " (--force disconnects "
                + (broken.size() == 1 ? "that client" : "those clients") + ")");
    }

    /** Puts the old chain back after a refused change; if even that fails, the export fails. */
    private void restore(Export e, ExportSpec spec, Chain.HandedOver states) {
        try {
            Chain chain = Chain.build(spec, catalog, states, e.handles(), pool);
            commit(e, reopen(e, chain));
            e.running(spec, chain);
        } catch (ConfigException ex) {
            LOG.error("export '{}': the previous chain could not be restored: {}", e.name(), ex.getMessage());
            e.failed(ExportState.FAILED, "the previous chain could not be restored: " + ex.getMessage());
            e.sessions().forEach(s -> s.disconnect("export '" + e.name() + "' failed"));
        }
    }

    // ---- parking and resuming -------------------------------------------------------------

    /**
     * A plugin or filter service is going away (already out of the catalog): every running export
     * built with it drains and takes its chain apart (each layer handing over its state). If
     * another provider of that name remains, the export is rebuilt on it at once, as for a bundle
     * update; otherwise it waits, parked, for a successor. Requests wait at the closed gate; after
     * the park timeout they fail with ESHUTDOWN and the clients are disconnected.
     */
    void serviceGone(Object service, String what) throws InterruptedException {
        checkControlPlane();
        for (Export e : exports.values()) {
            Chain c = e.chain();
            if (e.state() == ExportState.RUNNING && c != null && c.uses(service)) {
                e.gate().close();
                long epoch = e.parked("waiting for " + what, takeApart(e, null));
                control.schedule(parkTimeoutMillis, () -> giveUp(e, epoch));
                if (missingService(e.spec()) == null) {
                    LOG.info("export '{}': {} is gone, moving to another provider of that name", e.name(), what);
                    tryStart(e);
                } else {
                    LOG.info("export '{}' parked: waiting for {}", e.name(), what);
                }
            }
        }
    }

    private void giveUp(Export e, long epoch) {
        if (e.state() != ExportState.PARKED || e.parkEpoch() != epoch || exports.get(e.name()) != e) {
            return;
        }
        String why = e.message() + ", gave up after " + parkTimeoutMillis / 1000 + " s";
        LOG.warn("export '{}': {}; disconnecting its clients", e.name(), why);
        e.note(why);
        e.sessions().forEach(s -> s.disconnect("export '" + e.name() + "' is unavailable: " + why));
        e.gate().open();
    }

    /** Plugins or filters arrived: parked exports that now have all they need start (again). */
    void servicesArrived() {
        checkControlPlane();
        for (Export e : exports.values()) {
            if (e.state() == ExportState.PARKED) {
                tryStart(e);
            }
        }
    }

    /** Builds the chain of an export that has none, with what its old layers handed over. */
    private void tryStart(Export e) {
        String missing = missingService(e.spec());
        if (missing != null) {
            e.failed(ExportState.PARKED, "waiting for " + missing);
            LOG.info("export '{}' waits for {}", e.name(), missing);
            return;
        }
        Chain.HandedOver states = e.parkedState();
        boolean resuming = !e.sessions().isEmpty() || !states.isEmpty();
        try {
            Chain chain = Chain.build(e.spec(), catalog, states, e.handles(), pool);
            commit(e, reopen(e, chain));
            e.running(e.spec(), chain);
            LOG.info("export '{}' {}: {}", e.name(), resuming ? "resumed" : "started", describe(e.spec()));
        } catch (ConfigException ex) {
            e.failed(resuming ? ExportState.PARKED : ExportState.FAILED, ex.getMessage());
            LOG.error("export '{}' failed to start: {}", e.name(), ex.getMessage());
            return;
        }
        if (e.gate().isClosed()) {
            e.gate().open();
        }
    }

    private String missingService(ExportSpec spec) {
        if (catalog.plugin(spec.plugin()) == null) {
            return "plugin '" + spec.plugin() + "'";
        }
        for (String f : spec.filters()) {
            if (catalog.filter(f) == null) {
                return "filter '" + f + "'";
            }
        }
        return null;
    }

    // ---- the clients' handles across a change ---------------------------------------------

    /**
     * Closes every client's handles and the chain, keeping what the layers hand over: the layers
     * {@code successor} also has, or all of them (null: parking). Gate closed.
     */
    private Chain.HandedOver takeApart(Export e, ExportSpec successor) {
        e.sessions().forEach(s -> e.handles().end(s.client().connectionId()));
        Chain c = e.chain();
        return c == null ? Chain.HandedOver.none() : c.dismantle(successor);
    }

    private record Reopened(Session session, Boundary top, List<String> broken) {
    }

    /** Opens the new chain for each client and compares it with what the client was promised. */
    private List<Reopened> reopen(Export e, Chain chain) {
        List<Reopened> out = new ArrayList<>();
        for (Session s : e.sessions()) {
            long id = s.client().connectionId();
            e.handles().begin(id);
            try {
                Boundary top = chain.open(s.client());
                out.add(new Reopened(s, top, s.promise().brokenBy(Promise.of(top))));
            } catch (IOException | RuntimeException ex) {
                e.handles().end(id);
                out.add(new Reopened(s, null, List.of("cannot reopen: " + ex.getMessage())));
            }
        }
        return out;
    }

    private static List<String> brokenPromises(Export e, List<Reopened> reopened) {
        List<String> out = new ArrayList<>();
        for (Reopened r : reopened) {
            if (!r.broken.isEmpty()) {
                out.add("client " + r.session.client().connectionId() + " (" + r.session.client().clientAddress()
                        + ") on export '" + e.name() + "' was promised " + String.join(", ", r.broken));
            }
        }
        return out;
    }

    /** Clients whose promise holds move to their new handles; the others are disconnected. */
    private static void commit(Export e, List<Reopened> reopened) {
        for (Reopened r : reopened) {
            if (r.broken.isEmpty()) {
                r.session.replaceTop(r.top);
            } else {
                if (r.top != null) {
                    e.handles().end(r.session.client().connectionId());
                }
                LOG.info("export '{}': disconnecting client {}: the new chain no longer offers {}", e.name(),
                        r.session.client().connectionId(), String.join(", ", r.broken));
                r.session.disconnect("export '" + e.name() + "' changed: no longer offers " + String.join(", ", r.broken));
            }
        }
    }

    private void checkControlPlane() {
        if (!control.isCurrent()) {
            throw new IllegalStateException("exports change only on the control plane");
        }
    }
}
