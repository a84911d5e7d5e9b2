package org.nbdosgi.engine.server;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.chain.Catalog;
import org.nbdosgi.engine.chain.Chain;
import org.nbdosgi.engine.export.Export;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.export.Transition;
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
    private final Path stateRoot;

    /** @param stateRoot where each export gets a state directory for its layers, or null for none */
    Exports(Catalog catalog, BufferPool pool, ControlPlane control, long parkTimeoutMillis, Path stateRoot) {
        this.catalog = catalog;
        this.pool = pool;
        this.control = control;
        this.parkTimeoutMillis = parkTimeoutMillis;
        this.stateRoot = stateRoot;
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
        transition(e).to(spec, Transition.OnBroken.REFUSE);
        exports.put(spec.name(), e);
        LOG.info("export '{}' started: {}", spec.name(), describe(spec));
        return info(e);
    }

    /**
     * An export from a configuration file: kept even when it cannot start (waiting for its plugin,
     * or failed with the reason). The same spec again is nothing to do; a different one rewires it,
     * and a refused rewire leaves a note on the export instead of failing.
     */
    ExportInfo addConfigured(ExportSpec spec, boolean catchAll) {
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
        return new Export(spec, catchAll, control::isCurrent, parkTimeoutMillis, Optional.ofNullable(stateDirectory(spec.name())));
    }

    /** {@code STATE_ROOT/export-NAME} (the name URL-encoded), or null without a state root. */
    private Path stateDirectory(String name) {
        return stateRoot == null ? null : stateRoot.resolve("export-" + URLEncoder.encode(name, StandardCharsets.UTF_8));
    }

    /**
     * Drains the export, disconnects its clients, closes its layers. {@code forget}: the export is
     * gone for good (a user removed it), so its state directory goes too; not when the server stops.
     */
    void remove(String name, boolean forget) throws ConfigException, InterruptedException {
        checkControlPlane();
        Export e = exports.remove(name);
        if (e == null) {
            throw new ConfigException("no export named '" + name + "'");
        }
        e.gate().close();
        e.failed(ExportState.FAILED, "the export was removed");
        e.sessions().forEach(s -> s.disconnect("export '" + name + "' was removed"));
        e.gate().open();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!e.noClients() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        List.copyOf(e.sessions()).forEach(Session::close);
        e.closeLayers();
        LOG.info("export '{}' stopped", name);
        if (forget && e.stateDirectory().isPresent()) {
            deleteTree(e.stateDirectory().get());
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
            LOG.info("removed the export's state in {}", dir);
        } catch (IOException e) {
            LOG.warn("could not remove the export's state in {}: {}", dir, e.toString());
        }
    }

    /** Removes the exports built with {@code service}. */
    void removeUsing(Object service) throws InterruptedException {
        for (Export e : List.copyOf(exports.values())) {
            if (e.uses(service)) {
                try {
                    remove(e.name(), false);
                } catch (ConfigException gone) {
                    // removed meanwhile
                }
            }
        }
    }

    void removeAll() throws InterruptedException {
        for (String name : List.copyOf(exports.keySet())) {
            try {
                remove(name, false);
            } catch (ConfigException gone) {
                // removed meanwhile
            }
        }
    }

    // ---- rewiring -------------------------------------------------------------------------

    private Transition transition(Export e) {
        return new Transition(e, catalog, pool);
    }

    /**
     * Changes a running export's chain under drain, rebuilding only what changes; refused (old
     * chain back, clients untouched) when the new chain cannot start or breaks a client's promise
     * without {@code force}. A parked or failed export takes the new chain only if it starts now,
     * with the same promise check; otherwise it is refused and stays as it was.
     */
    ExportInfo rewire(String name, ExportSpec spec, boolean force) throws ConfigException {
        checkControlPlane();
        Export e = exports.get(name);
        if (e == null) {
            throw new ConfigException("no export named '" + name + "'");
        }
        if (!spec.name().equals(name)) {
            throw new ConfigException("a rewire cannot rename export '" + name + "'");
        }
        Transition.OnBroken onBroken = force ? Transition.OnBroken.DISCONNECT : Transition.OnBroken.REFUSE;
        Transition t = transition(e);
        if (e.state() == ExportState.RUNNING) {
            t.to(spec, onBroken);
        } else {
            String was = "export '" + e.name() + "' is " + e.state().name().toLowerCase()
                    + (e.message() == null ? "" : " (" + e.message() + ")");
            String missing = missingService(spec);
            if (missing != null) {
                throw new ConfigException(was + " and the new chain cannot start either: no " + missing + "; nothing changed");
            }
            try {
                t.to(spec, onBroken);
            } catch (Transition.Refused refused) {
                throw refused;
            } catch (ConfigException ex) {
                throw new ConfigException(was + " and the new chain cannot start either: " + ex.getMessage() + "; nothing changed", ex);
            }
        }
        LOG.info("export '{}' rewired (I/O paused {} ms): {}", name, String.format(java.util.Locale.ROOT, "%.1f", t.pausedNanos() / 1e6), describe(spec));
        return info(e);
    }

    // ---- parking and resuming -------------------------------------------------------------

    /**
     * A plugin or filter service is going away (already out of the catalog): every export with a
     * layer it created drains and takes apart the layers from the outermost down to that one, each
     * handing over its state; the layers below stay alive, with their state and their clients'
     * handles. If another provider of that name remains, the export is rebuilt on it at once, as for
     * a bundle update; otherwise it waits, parked, for a successor. Requests wait at the closed gate;
     * after the park timeout they fail with ESHUTDOWN and the clients are disconnected.
     */
    void serviceGone(Object service, String what) {
        checkControlPlane();
        for (Export e : exports.values()) {
            if (!e.uses(service)) {
                continue;
            }
            boolean wasRunning = e.state() == ExportState.RUNNING;
            transition(e).park(service, "waiting for " + what);
            if (wasRunning) {
                long epoch = e.newPark();
                control.schedule(parkTimeoutMillis, () -> giveUp(e, epoch));
            }
            if (missingService(e.spec()) == null) {
                LOG.info("export '{}': {} is gone, moving to another provider of that name", e.name(), what);
                tryStart(e);
            } else {
                LOG.info("export '{}' parked: waiting for {}", e.name(), what);
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

    /** Builds the chain of an export that has none, over what it kept and with what its old layers handed over. */
    private void tryStart(Export e) {
        String missing = missingService(e.spec());
        if (missing != null) {
            e.failed(ExportState.PARKED, "waiting for " + missing);
            LOG.info("export '{}' waits for {}", e.name(), missing);
            return;
        }
        boolean resuming = e.hasRun();
        try {
            transition(e).to(e.spec(), Transition.OnBroken.DISCONNECT);
            LOG.info("export '{}' {}: {}", e.name(), resuming ? "resumed" : "started", describe(e.spec()));
        } catch (ConfigException ex) {
            e.failed(resuming ? ExportState.PARKED : ExportState.FAILED, ex.getMessage());
            LOG.error("export '{}' failed to start: {}", e.name(), ex.getMessage());
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

    private void checkControlPlane() {
        if (!control.isCurrent()) {
            throw new IllegalStateException("exports change only on the control plane");
        }
    }
}
