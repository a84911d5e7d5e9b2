package org.nbdosgi.engine.export;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.ThreadModel;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.chain.Chain;
import org.nbdosgi.engine.chain.HandleRegistry;
import org.nbdosgi.engine.metrics.ExportMeter;

/**
 * One named export: its spec, its running {@link Chain}, its drain {@link Gate} and the sessions
 * of the clients attached to it. The chain and state change only on the control plane; sessions
 * read them on the data plane through volatile fields.
 */
public final class Export {
    private volatile ExportSpec spec;
    private volatile boolean catchAll;
    private final Gate gate;
    private final HandleRegistry handles = new HandleRegistry();
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    /** Clients between leaving {@link #sessions} and their handles closed (see {@link #noClients}). */
    private final AtomicInteger detaching = new AtomicInteger();
    private final ReentrantLock serializeAllRequests = new ReentrantLock();
    private final Semaphore serializeConnections = new Semaphore(1, true);
    private final ExportMeter meter = new ExportMeter();
    private final long parkTimeoutMillis;
    private final Optional<Path> stateDirectory;
    private volatile Chain chain;
    private Chain kept = Chain.EMPTY;
    private volatile ExportState state = ExportState.FAILED;
    private volatile String message = "not started";
    private volatile long size = -1;
    private Chain.HandedOver parkedState = Chain.HandedOver.none();
    private long parkEpoch;

    /**
     * @param catchAll          serve client export names that match no export (the command line's export)
     * @param parkTimeoutMillis how long a request waits at a closed gate before failing with ESHUTDOWN
     */
    public Export(ExportSpec spec, boolean catchAll, BooleanSupplier onControlPlane, long parkTimeoutMillis) {
        this(spec, catchAll, onControlPlane, parkTimeoutMillis, Optional.empty());
    }

    /** @param stateDirectory where the export's layers may keep state across restarts, if anywhere */
    public Export(ExportSpec spec, boolean catchAll, BooleanSupplier onControlPlane, long parkTimeoutMillis,
                  Optional<Path> stateDirectory) {
        this.stateDirectory = stateDirectory;
        this.spec = spec;
        this.catchAll = catchAll;
        this.gate = new Gate(onControlPlane);
        this.parkTimeoutMillis = parkTimeoutMillis;
    }

    /** Where the export's layers may keep state across restarts (see {@code ExportContext}), if anywhere. */
    public Optional<Path> stateDirectory() {
        return stateDirectory;
    }

    public ExportSpec spec() {
        return spec;
    }

    public String name() {
        return spec.name();
    }

    /** Whether this export also serves every name no other export has (read by routing, data plane). */
    public boolean catchAll() {
        return catchAll;
    }

    /** Control plane: its configuration says so (or no longer). */
    public void catchAll(boolean serveEveryName) {
        catchAll = serveEveryName;
    }

    public Gate gate() {
        return gate;
    }

    public HandleRegistry handles() {
        return handles;
    }

    public Chain chain() {
        return chain;
    }

    public ExportState state() {
        return state;
    }

    public String message() {
        return message;
    }

    /**
     * The size of the default export: probed when the chain was built, refreshed whenever a client
     * opens that export; -1 when the chain serves only names a client asks for (file dir=).
     */
    public long size() {
        return size;
    }

    /**
     * The meta contexts a client may select: those of the running chain (base:allocation first), or
     * base:allocation alone while the export does not run. Any thread.
     */
    public List<String> metaContexts() {
        Chain c = chain;
        return c == null ? List.of(Extents.BASE_ALLOCATION) : c.metaContexts();
    }

    public Set<Session> sessions() {
        return sessions;
    }

    /**
     * Any thread: no client is attached and none is still closing its handles, so the layers may
     * close (a plugin instance must not close under a handle of its own still open: VDDK's Exit
     * before a Close).
     */
    public boolean noClients() {
        return sessions.isEmpty() && detaching.get() == 0;   // in this order: detach counts before it leaves the set
    }

    /**
     * What the export has alive: its running chain, or while it is parked the bottom part of its
     * chain that stays (empty when nothing does, or it never ran). Control plane.
     */
    Chain layers() {
        Chain c = chain;
        return c != null ? c : kept;
    }

    /** The request totals of the connections attached to this export (when the engine counts). */
    public ExportMeter meter() {
        return meter;
    }

    /** Control plane: the export now runs {@code c} built from {@code s}. */
    void running(ExportSpec s, Chain c) {
        this.spec = s;
        this.chain = c;
        this.kept = Chain.EMPTY;
        this.state = ExportState.RUNNING;
        this.message = null;
        this.parkedState = Chain.HandedOver.none();
        this.size = c.defaultSize();
    }

    /**
     * Control plane: the export does not run; {@code layers} (a bottom part of its chain, maybe
     * empty) stay alive and {@code states} keep what the layers above handed over, for when it
     * starts again. {@code why} is shown to users.
     */
    void stopped(ExportState newState, String why, Chain layers, Chain.HandedOver states) {
        this.chain = null;
        this.kept = layers;
        this.state = newState;
        this.message = why;
        this.parkedState = states;
    }

    /** Control plane: the export does not run, for {@code why}; its layers stay alive, as kept. */
    public void failed(ExportState newState, String why) {
        if (chain != null) {
            kept = chain;
        }
        this.chain = null;
        this.state = newState;
        this.message = why;
    }

    /** Control plane: starts a new park (its timeout); returns its number, to tell a stale timeout apart. */
    public long newPark() {
        return ++parkEpoch;
    }

    /** Control plane: whether the export kept layers or state from having run (it is resuming, not starting). */
    public boolean hasRun() {
        return kept != Chain.EMPTY || !parkedState.isEmpty() || !sessions.isEmpty();
    }

    /** Control plane: the state waiting for the successors (empty unless stopped). */
    Chain.HandedOver parkedState() {
        return parkedState;
    }

    public long parkEpoch() {
        return parkEpoch;
    }

    /** Control plane: a note for users about a running export (a refused change), or null. */
    public void note(String why) {
        this.message = why;
    }

    /** Control plane: the spec changes without a chain (a waiting or failed export). */
    public void respec(ExportSpec s) {
        this.spec = s;
    }

    /** Whether a layer the export has alive (running or kept while parked) was created by {@code service}. */
    public boolean uses(Object service) {
        return layers().uses(service);
    }

    /** Control plane, once its clients' handles are closed: the export is gone; closes whatever layers it still has. */
    public void closeLayers() {
        Chain c = layers();
        chain = null;
        kept = Chain.EMPTY;
        c.close();
    }

    /**
     * Attaches a client: opens the chain's handles for it. Waits while the export is being
     * rewired, and for its turn under the serialize-connections thread model. A client asking for
     * "" gets the chain's default export: the chain is opened with (and the session carries) its
     * canonical name, as nbdkit resolves "" through .default_export.
     */
    public Session attach(ClientContext client, java.util.function.Consumer<String> disconnect)
            throws IOException, InterruptedException {
        Chain c = chain;
        boolean slot = c != null && c.threadModel() == ThreadModel.SERIALIZE_CONNECTIONS;
        if (slot) {
            serializeConnections.acquire();
        }
        boolean ok = false;
        try {
            enterGate(false);
            try {
                c = chain;
                if (c == null || state != ExportState.RUNNING) {
                    throw new NbdException(NbdError.ESHUTDOWN, "export '" + name() + "' is " + state.name().toLowerCase()
                            + (message == null ? "" : ": " + message));
                }
                handles.begin(client.connectionId());
                ClientContext resolved;
                Boundary top;
                try {
                    resolved = client.exportName().isEmpty() ? client.withExportName(c.defaultExport()) : client;
                    top = c.open(resolved);
                } catch (IOException | RuntimeException e) {
                    handles.end(client.connectionId());
                    throw e;
                }
                if (resolved.exportName().equals(c.defaultName())) {
                    size = top.size();
                }
                Session s = new Session(this, resolved, top, disconnect, slot);
                sessions.add(s);
                ok = true;
                return s;
            } finally {
                gate.exit();
            }
        } finally {
            if (slot && !ok) {
                serializeConnections.release();
            }
        }
    }

    /**
     * Data plane: waits at the gate up to the park timeout. Returns how long it waited, when
     * {@code timed} and the gate was closed (0 on the fast path: no clock is read).
     */
    long enterGate(boolean timed) throws InterruptedException, NbdException {
        if (gate.tryEnter()) {
            return 0;
        }
        long start = timed ? System.nanoTime() : 0;
        if (!gate.enter(parkTimeoutMillis, TimeUnit.MILLISECONDS)) {
            throw new NbdException(NbdError.ESHUTDOWN, "export '" + name() + "' stayed unavailable for "
                    + parkTimeoutMillis / 1000 + " s" + (message == null ? "" : ": " + message));
        }
        return timed ? System.nanoTime() - start : 0;
    }

    ReentrantLock serializeAllRequests() {
        return serializeAllRequests;
    }

    void detach(Session s) {
        detaching.incrementAndGet();
        try {
            if (sessions.remove(s)) {
                handles.end(s.client().connectionId());
                if (s.holdsConnectionSlot()) {
                    serializeConnections.release();
                }
            }
        } finally {
            detaching.decrementAndGet();
        }
    }
}
