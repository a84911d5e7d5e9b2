package org.nbdosgi.engine.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.Units;
import org.nbdosgi.api.admin.ConnectionInfo;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.chain.Catalog;
import org.nbdosgi.engine.chain.Chain;
import org.nbdosgi.engine.chain.SecretValues;
import org.nbdosgi.engine.export.Export;
import org.nbdosgi.engine.protocol.Nbd;
import org.nbdosgi.engine.transport.Deadlines;
import org.nbdosgi.engine.transport.Transport;
import org.nbdosgi.tls.TlsException;
import org.nbdosgi.tls.TlsServer;
import org.nbdosgi.tls.TlsSettings;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NBD server: the catalog of plugin and filter services, the exports, the listening sockets and
 * the client connections. Exports are created, changed and removed only on the {@link ControlPlane};
 * connections read the export table on the data plane.
 *
 * <p>Framework properties: {@code nbd.park.timeout} (how long requests wait for an unavailable
 * export, default 30s), {@code nbd.handshake.timeout} (how long a client may take to enter
 * transmission, STARTTLS's TLS handshake included, default 10s, 0 for no limit),
 * {@code nbd.connection.requests} (requests running per connection, default 512),
 * {@code nbd.connection.bytes} (write payload bytes, and read bytes, in flight per connection,
 * default 64M), {@code nbd.payload.budget} (payload bytes in flight in the whole server, shared by
 * the connections first come, first served; default a quarter of the direct memory the JVM may
 * use, at least 256M) and {@code nbd.tls.reload} (how often TLS material files are checked for
 * changes, default 1s).
 */
@Component(service = {ServerAdmin.class, Engine.class}, immediate = true)
public final class Engine implements ServerAdmin, Catalog, Routing {
    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);

    private final Providers<Plugin> plugins = new Providers<>();
    private final Providers<Filter> filters = new Providers<>();
    private final Map<Long, Connection> connections = new ConcurrentHashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong connectionIds = new AtomicLong();
    private final BufferPool pool = new BufferPool();
    private final ControlPlane control = new ControlPlane();
    private final Deadlines deadlines = new Deadlines();
    private long parkTimeoutMillis = 30_000;
    private Duration handshakeTimeout = Duration.ofSeconds(10);
    private SecretValues secrets = SecretValues.withoutStandardInput();
    private Exports exports;
    private volatile int maxRequestsPerConnection = 512;
    private volatile int handshakeFlags = Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES;
    private volatile boolean structuredReplies = true;
    /** Called when a connection ends, by connection id (a client served on standard input). */
    private final Map<Long, Runnable> whenClosed = new ConcurrentHashMap<>();
    private long maxBytesPerConnection = 64 << 20;
    private PayloadBudget budget;
    private boolean counting;
    private volatile ServerTls tls = ServerTls.OFF;
    private Duration tlsReload = Duration.ofSeconds(1);
    /** Each configured export's own allow-list ({@code tls.allow} in its etc/ file). */
    private final Map<String, List<String>> allowLists = new ConcurrentHashMap<>();

    public Engine() {
    }

    private BundleContext context;

    @Activate
    void activate(BundleContext context) {
        this.context = context;
        Warmup.start(context.getBundle());
        String park = context.getProperty("nbd.park.timeout");
        if (park != null) {
            parkTimeoutMillis = Units.parseDuration(park).toMillis();
        }
        if ("cli".equals(context.getProperty("nbd.mode"))) {
            secrets = new SecretValues(true, System.in);      // the command line's password=- and password=-FD
        }
        String handshake = context.getProperty("nbd.handshake.timeout");
        if (handshake != null) {
            handshakeTimeout = Units.parseDuration(handshake);
        }
        String reqs = context.getProperty("nbd.connection.requests");
        if (reqs != null) {
            maxRequestsPerConnection = Integer.parseInt(reqs.trim());
        }
        String bytes = context.getProperty("nbd.connection.bytes");
        if (bytes != null) {
            maxBytesPerConnection = Units.parseSize(bytes);
        }
        String metrics = context.getProperty("nbd.metrics");
        counting = metrics != null && !metrics.isBlank() && !metrics.trim().equals("off");
        String total = context.getProperty("nbd.payload.budget");
        budget = new PayloadBudget(total != null ? Units.parseSize(total) : defaultBudget());
        String reload = context.getProperty("nbd.tls.reload");
        if (reload != null) {
            tlsReload = Units.parseDuration(reload);
        }
        exports = new Exports(this, pool, control, parkTimeoutMillis, stateRoot(context));
        LOG.debug("engine started (park timeout {}, {} requests and {} bytes in flight per connection, {} in the server)",
                Duration.ofMillis(parkTimeoutMillis), maxRequestsPerConnection, Units.formatSize(maxBytesPerConnection),
                Units.formatSize(budget.total()));
    }

    /**
     * Where exports keep their layers' state across restarts: {@code nbd.state}, else {@code state/}
     * in the configuration directory {@code nbd.etc} (container mode), else nowhere (command line).
     */
    private static Path stateRoot(BundleContext context) {
        String state = context.getProperty("nbd.state");
        if (state != null && !state.isBlank()) {
            return Path.of(state);
        }
        String etc = context.getProperty("nbd.etc");
        return etc == null || etc.isBlank() ? null : Path.of(etc, "state");
    }

    @Deactivate
    void deactivate() throws Exception {
        stopListening();
        ServerTls t = tls;
        tls = ServerTls.OFF;
        if (t.material() != null) {
            t.material().close();
        }
        control.call(() -> {
            exports.removeAll();
            return null;
        });
        control.close();
        deadlines.close();
        LOG.info("engine stopped");
    }

    // ---- catalog (service events arrive on any thread) --------------------------------------

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addPlugin(Plugin plugin, Map<String, Object> props) {
        String name = nameOf(props, plugin.name());
        plugins.add(name, plugin, props);
        LOG.info("plugin '{}' available{}", name, from(plugin));
        servicesArrived();
    }

    /**
     * Synchronous on purpose: exports built with the plugin move to another provider of its name,
     * or park, before its bundle goes away.
     */
    void removePlugin(Plugin plugin, Map<String, Object> props) {
        String name = nameOf(props, plugin.name());
        logGone("plugin", name, plugin, plugins.remove(name, plugin));
        serviceGone(plugin, "plugin '" + name + "'");
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addFilter(Filter filter, Map<String, Object> props) {
        String name = nameOf(props, filter.name());
        filters.add(name, filter, props);
        LOG.info("filter '{}' available{}", name, from(filter));
        servicesArrived();
    }

    void removeFilter(Filter filter, Map<String, Object> props) {
        String name = nameOf(props, filter.name());
        logGone("filter", name, filter, filters.remove(name, filter));
        serviceGone(filter, "filter '" + name + "'");
    }

    private static void logGone(String kind, String name, Object service, int left) {
        if (left == 0) {
            LOG.info("{} '{}' gone{}", kind, name, from(service));
        } else {
            LOG.info("{} '{}' gone{}; {} other provider{} left", kind, name, from(service), left, left == 1 ? "" : "s");
        }
    }

    /** Which bundle a service came from, for the log: " (bundle 12, org.nbdosgi.plugin.memory 0.2.0)". */
    private static String from(Object service) {
        Bundle b = FrameworkUtil.getBundle(service.getClass());
        return b == null ? "" : " (bundle " + b.getBundleId() + ", " + b.getSymbolicName() + " " + b.getVersion() + ")";
    }

    private void servicesArrived() {
        if (exports != null) {
            control.submit(exports::servicesArrived);
        }
    }

    private void serviceGone(Object service, String what) {
        if (exports == null) {
            return;
        }
        boolean shuttingDown = context.getBundle(0).getState() == Bundle.STOPPING;
        try {
            control.call(() -> {
                if (shuttingDown) {
                    exports.removeUsing(service);       // the server is stopping: no successor will come
                } else {
                    exports.serviceGone(service, what);
                }
                return null;
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            LOG.debug("{} gone while the engine stops", what);
        } catch (Exception e) {
            LOG.error("parking the exports that use {} failed", what, e);
        }
    }

    private static String nameOf(Map<String, Object> props, String fallback) {
        Object n = props.get(Plugin.NAME_PROPERTY);
        return n == null ? fallback : n.toString();
    }

    @Override
    public Plugin plugin(String name) {
        return plugins.best(name);
    }

    @Override
    public Filter filter(String name) {
        return filters.best(name);
    }

    @Override
    public Collection<Plugin> plugins() {
        return plugins.bestOfEach();
    }

    @Override
    public Collection<Filter> filters() {
        return filters.bestOfEach();
    }

    @Override
    public SecretValues secrets() {
        return secrets;
    }

    // ---- listening --------------------------------------------------------------------------

    @Override
    public int listenTcp(InetSocketAddress address) throws IOException {
        return listenTcp(address, false);
    }

    /**
     * Listens on {@code address}; with {@code ipv6Only} a client reaching a dual-stack wildcard over
     * IPv4 is turned away at once (the JDK cannot set IPV6_V6ONLY on a listening socket).
     */
    public int listenTcp(InetSocketAddress address, boolean ipv6Only) throws IOException {
        Listener l = Listener.tcp(address, this::serve, ipv6Only);
        listeners.add(l);
        LOG.info("listening on {}", Listener.describe(l.address()));
        return l.port();
    }

    /** Serves clients of a listening socket made by someone else (systemd socket activation). */
    public void listenInherited(ServerSocketChannel server) throws IOException {
        Listener l = Listener.inherited(server, this::serve);
        listeners.add(l);
        LOG.info("listening on {} (socket activation)", Listener.describe(l.address()));
    }

    @Override
    public void listenUnix(Path path) throws IOException {
        Listener l = Listener.unix(path, this::serve);
        listeners.add(l);
        LOG.info("listening on {}", path);
    }

    public void stopListening() {
        for (Listener l : listeners) {
            l.close();
        }
        listeners.clear();
    }

    /** Requests in flight per connection (the command line's {@code -t}). */
    public void maxRequestsPerConnection(int n) {
        maxRequestsPerConnection = Math.max(1, n);
    }

    /**
     * What the handshake offers: the global flags also in {@code mask} (the command line's
     * {@code --mask-handshake}), and whether structured replies are accepted ({@code --no-sr}).
     */
    public void handshake(long mask, boolean structured) {
        handshakeFlags = (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES) & (int) mask;
        structuredReplies = structured;
    }

    @Override
    public int handshakeFlags() {
        return handshakeFlags;
    }

    @Override
    public boolean structuredReplies() {
        return structuredReplies;
    }

    /**
     * Serves one client on {@code client} (the command line's {@code -s}: standard input and
     * output) and runs {@code closed} when that connection ends.
     */
    public void serve(Transport client, Runnable closed) {
        serve(client, Optional.of(closed));
    }

    /**
     * Serves one client on its own virtual thread, from the handshake to the end. Listeners call it
     * for each accepted socket; a transport on standard input and output ({@code -s}) would too.
     */
    private void serve(Transport client) {
        serve(client, Optional.empty());
    }

    private void serve(Transport client, Optional<Runnable> closed) {
        long id = connectionIds.incrementAndGet();
        closed.ifPresent(r -> whenClosed.put(id, r));
        Connection c = new Connection(id, client, this, maxRequestsPerConnection, maxBytesPerConnection);
        connections.put(id, c);
        LOG.debug("connection {} from {}", id, client.peer().address());
        Thread.ofVirtual().name(ControlPlane.DATA_PLANE_PREFIX + "conn-" + id).start(c);
    }

    void connectionClosed(Connection c) {
        connections.remove(c.id());
        LOG.debug("connection {} closed", c.id());
        Runnable closed = whenClosed.remove(c.id());
        if (closed != null) {
            closed.run();
        }
    }

    BufferPool pool() {
        return pool;
    }

    /** Whether requests are counted and timed (framework property {@code nbd.metrics} set, not {@code off}). */
    boolean counting() {
        return counting;
    }

    /** The exports, for reading metrics (any thread). */
    Collection<Export> allExports() {
        Exports e = exports;
        return e == null ? List.of() : e.all();
    }

    /** The connections now, for reading metrics (any thread). */
    Collection<Connection> liveConnections() {
        return connections.values();
    }

    // ---- TLS (control plane) ------------------------------------------------------------------

    /**
     * Sets the server's TLS: {@code --tls} and the material. Connections that start from now on
     * use it; established ones keep what they negotiated. The material's files are then watched
     * and reloaded when they change. A setting whose material does not load throws (one line
     * naming the file) and leaves the previous one in force. {@code settings} is ignored when
     * the mode is off.
     */
    public void configureTls(TlsMode mode, TlsSettings settings) throws TlsException {
        ServerTls next = mode == TlsMode.OFF ? ServerTls.OFF : new ServerTls(mode, TlsServer.start(settings, tlsReload));
        ServerTls old = tls;
        tls = next;
        if (old.material() != null) {
            old.material().close();
        }
        if (mode != old.mode()) {
            LOG.info("TLS mode: {}", mode.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    /** The mode now in force. */
    public TlsMode tlsMode() {
        return tls.mode();
    }

    /**
     * Sets the allow-list an export's configuration gives ({@code tls.allow}); empty for none. Set
     * before the export starts, so no client reaches it unchecked.
     */
    public void allowList(String export, List<String> identities) {
        if (identities.isEmpty()) {
            allowLists.remove(export);
        } else {
            allowLists.put(export, List.copyOf(identities));
        }
    }

    @Override
    public ServerTls tls() {
        return tls;
    }

    @Override
    public List<String> allowed(String export) {
        List<String> own = allowLists.getOrDefault(export, List.of());
        List<String> fromFile = tls.rulesFor(export);
        if (fromFile.isEmpty()) {
            return own;
        }
        List<String> all = new ArrayList<>(fromFile);
        all.addAll(own);
        return all;
    }

    PayloadBudget budget() {
        return budget;
    }

    /**
     * A quarter of the direct memory the JVM may use (-XX:MaxDirectMemorySize, else the heap's
     * maximum, as the JVM itself defaults it), at least 256M: room for the data of the requests in
     * flight, with the rest left to the plugins (the memory plugin keeps its pages there).
     */
    private static long defaultBudget() {
        long direct = Runtime.getRuntime().maxMemory();
        for (String arg : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-XX:MaxDirectMemorySize=")) {
                try {
                    direct = Units.parseSize(arg.substring("-XX:MaxDirectMemorySize=".length()));
                } catch (IllegalArgumentException ignored) {
                    // the JVM took it; keep the heap's figure
                }
            }
        }
        return Math.max(256L << 20, direct / 4);
    }

    Deadlines deadlines() {
        return deadlines;
    }

    /** How long a client may take from connecting to entering transmission. */
    Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    // ---- routing (data plane) ---------------------------------------------------------------

    /**
     * Finds the export for a client's export name: the export of that exact name; else an export
     * {@code E} when the name is {@code E/rest} (its chain serves {@code rest}); else the catch-all
     * export (the command line's, or one configured {@code catchall = true}), which serves the whole
     * name. Null if none: the client is refused.
     */
    @Override
    public Route route(String name) {
        Export exact = exports.get(name);
        if (exact != null) {
            return new Route(exact, "");
        }
        Export best = null;
        for (Export e : exports.all()) {
            if (!e.name().isEmpty() && name.startsWith(e.name() + "/")
                    && (best == null || e.name().length() > best.name().length())) {
                best = e;
            }
        }
        if (best != null) {
            return new Route(best, name.substring(best.name().length() + 1));
        }
        for (Export e : exports.all()) {
            if (e.catchAll()) {
                return new Route(e, name);
            }
        }
        return null;
    }

    /** What NBD_OPT_LIST shows: each export {@code visible} lets through, or the names its chain lists under it. */
    @Override
    public List<ExportEntry> listExports(Predicate<String> visible) {
        List<ExportEntry> out = new ArrayList<>();
        List<Export> sorted = new ArrayList<>(exports.all());
        sorted.sort(Comparator.comparing(Export::name));
        for (Export e : sorted) {
            if (!visible.test(e.name())) {
                continue;
            }
            Chain c = e.chain();
            List<ExportEntry> inner = List.of();
            if (c != null) {
                try {
                    inner = c.listExports(e.spec().readOnly());
                } catch (IOException ex) {
                    LOG.warn("export '{}': listing its exports failed: {}", e.name(), ex.getMessage());
                }
            }
            if (inner == null || inner.isEmpty()) {
                out.add(new ExportEntry(e.name(), null));
            } else {
                boolean bare = e.catchAll() || e.name().isEmpty();
                for (ExportEntry x : inner) {
                    out.add(bare ? x : new ExportEntry(e.name() + "/" + x.name(), x.description()));
                }
            }
        }
        return out;
    }

    // ---- exports (control plane) ------------------------------------------------------------

    @Override
    public ExportInfo export(String name) {
        Export e = exports.get(name);
        return e == null ? null : Exports.info(e);
    }

    @Override
    public ExportInfo addExport(ExportSpec spec, boolean catchAll) throws ConfigException {
        return onControlPlane(() -> exports.add(spec, catchAll));
    }

    /**
     * Creates an export from configuration (etc/*.cfg). Unlike {@link #addExport}, a problem does
     * not refuse it: a missing plugin or filter leaves it waiting (parked) until the bundle comes,
     * any other problem leaves it failed with the reason, shown by {@code nbd:exports}.
     */
    public ExportInfo addConfiguredExport(ExportSpec spec, boolean catchAll) throws ConfigException {
        return onControlPlane(() -> exports.addConfigured(spec, catchAll));
    }

    @Override
    public ExportInfo rewire(String name, ExportSpec spec, boolean force) throws ConfigException {
        return onControlPlane(() -> exports.rewire(name, spec, force));
    }

    /** Removes an export; its state directory goes too, unless the server (or the engine) is stopping. */
    @Override
    public void removeExport(String name) throws ConfigException {
        boolean stopping = context.getBundle(0).getState() == Bundle.STOPPING || context.getBundle().getState() == Bundle.STOPPING;
        onControlPlane(() -> {
            exports.remove(name, !stopping);
            return null;
        });
    }

    @Override
    public List<ExportInfo> exports() {
        return exports.all().stream().sorted(Comparator.comparing(Export::name)).map(Exports::info).toList();
    }

    @Override
    public List<ConnectionInfo> connections() {
        return connections.values().stream().map(Connection::info)
                .sorted(Comparator.comparingLong(ConnectionInfo::id)).toList();
    }

    private interface ControlTask<T> {
        T run() throws ConfigException, InterruptedException;
    }

    private <T> T onControlPlane(ControlTask<T> task) throws ConfigException {
        try {
            return control.call(task::run);
        } catch (ConfigException | RuntimeException e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigException("interrupted");
        } catch (Exception e) {
            throw new ConfigException(e.toString(), e);
        }
    }
}
