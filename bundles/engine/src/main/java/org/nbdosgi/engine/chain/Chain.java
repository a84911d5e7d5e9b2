package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiFunction;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.ThreadModel;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.LayerInfo;
import org.nbdosgi.common.buffers.BufferPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Layers of one export, outermost filter first and the plugin last: the whole chain of a running
 * export, or, while it is parked, the bottom part that stays while the layers above wait for a
 * bundle. A change of the export's spec keeps the bottom layers it does not change ({@link #plan})
 * and builds the rest over them ({@link #build}). Built, taken apart and closed on the control
 * plane; {@link #open} also runs when a client connects.
 */
public final class Chain {
    private static final Logger LOG = LoggerFactory.getLogger(Chain.class);
    /** The id the size probe's handles are registered under (connection ids start at 1). */
    private static final long PROBE = -1;
    /** No layers: where an export that has never run starts from. */
    public static final Chain EMPTY = new Chain(List.of(), List.of(), null);

    private final List<LayerInstance> layers;
    /** Each layer's occurrence of its name in the spec it was built for, counted from the outermost. */
    private final List<Integer> occurrence;
    private final NextLayer top;
    private final ThreadModel threadModel;
    private String defaultName = "";
    private long defaultSize = -1;

    private Chain(List<LayerInstance> layers, List<Integer> occurrence, NextLayer top) {
        this.layers = List.copyOf(layers);
        this.occurrence = List.copyOf(occurrence);
        this.top = top;
        ThreadModel m = ThreadModel.PARALLEL;
        for (LayerInstance l : layers) {
            m = m.restrict(l.threadModel());
        }
        this.threadModel = m;
    }

    private static Chain of(List<LayerInstance> layers, List<Integer> occurrence, HandleRegistry handles, BufferPool pool) {
        if (layers.isEmpty()) {
            return EMPTY;
        }
        return new Chain(layers, occurrence, new NextLayer(true, handles, pool, layers.get(0).readOnly(), layers.get(0)));
    }

    /**
     * The state layers handed over when their chain was taken apart, by layer name and occurrence
     * (the second "stats" filter of a chain is occurrence 1), for the successors of the same name.
     * Control plane.
     */
    public static final class HandedOver {
        private final Map<String, List<Object>> byName = new LinkedHashMap<>();

        public static HandedOver none() {
            return new HandedOver();
        }

        void put(String layer, int occurrence, Object state) {
            List<Object> list = byName.computeIfAbsent(layer, k -> new ArrayList<>());
            while (list.size() <= occurrence) {
                list.add(null);
            }
            list.set(occurrence, state);
        }

        Optional<Object> get(String layer, int occurrence) {
            List<Object> list = byName.get(layer);
            return Optional.ofNullable(list == null || occurrence >= list.size() ? null : list.get(occurrence));
        }

        public boolean isEmpty() {
            return byName.values().stream().allMatch(l -> l.stream().allMatch(java.util.Objects::isNull));
        }

        /** Takes every entry of {@code newer} (a chain built from these states handed them back); returns this. */
        public HandedOver updatedBy(HandedOver newer) {
            newer.byName.forEach((layer, states) -> {
                for (int i = 0; i < states.size(); i++) {
                    put(layer, i, states.get(i));
                }
            });
            return this;
        }
    }

    /** Each layer name's occurrence number, outermost first: [stats, delay, stats, memory] -> [0, 0, 1, 0]. */
    private static List<Integer> occurrences(List<String> names) {
        Map<String, Integer> seen = new LinkedHashMap<>();
        return names.stream().map(n -> seen.merge(n, 1, Integer::sum) - 1).toList();
    }

    /** The layers of {@code names} (outermost first) as HandedOver keys them: "name#occurrence". */
    private static Set<String> keys(List<String> names) {
        List<Integer> occurrence = occurrences(names);
        Set<String> out = new HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            out.add(names.get(i) + "#" + occurrence.get(i));
        }
        return out;
    }

    /**
     * What a spec asks for, checked against the catalog before anything is taken apart: each layer's
     * service and parameters, and which of the running chain's bottom layers stay as they are.
     */
    public static final class Plan {
        private final ExportSpec spec;
        private final List<String> names;
        private final List<Object> services;
        private final List<Config> configs;
        private final List<LayerInstance> kept;

        private Plan(ExportSpec spec, List<String> names, List<Object> services, List<Config> configs, List<LayerInstance> kept) {
            this.spec = spec;
            this.names = names;
            this.services = services;
            this.configs = configs;
            this.kept = kept;
        }

        public ExportSpec spec() {
            return spec;
        }

        /** How many bottom layers stay. */
        public int kept() {
            return kept.size();
        }

        /** The names of the layers built anew, outermost first. */
        private List<String> newNames() {
            return names.subList(0, names.size() - kept.size());
        }
    }

    /**
     * Resolves {@code spec} against the catalog and this chain: every layer's service and
     * parameters; and, from the plugin up, the layers of this chain that stay because they and
     * everything below them are the same (same name, same parameters, same read-only), keeping their
     * service even if a newer provider of that name has come. The first layer that differs and
     * everything above it are built anew.
     *
     * @throws ConfigException an unknown plugin, filter or parameter, or a missing required one:
     *                         nothing has changed
     */
    public Plan plan(ExportSpec spec, Catalog catalog) throws ConfigException {
        Plugin plugin = catalog.plugin(spec.plugin());
        if (plugin == null) {
            throw new ConfigException("unknown plugin '" + spec.plugin() + "'" + available(catalog.plugins().stream().map(Plugin::name).toList()));
        }
        List<Filter> filters = new ArrayList<>();
        for (String f : spec.filters()) {
            Filter filter = catalog.filter(f);
            if (filter == null) {
                throw new ConfigException("unknown filter '" + f + "'" + available(catalog.filters().stream().map(Filter::name).toList()));
            }
            filters.add(filter);
        }
        List<String> names = new ArrayList<>(spec.filters());              // outermost first, like the spec
        names.add(spec.plugin());
        List<Config> configs = distribute(spec, filters, plugin, catalog.secrets()).stream().map(Config::new).toList();
        List<Object> services = new ArrayList<>(filters);
        services.add(plugin);
        int kept = 0;
        while (kept < layers.size() && kept < names.size()) {
            LayerInstance running = layers.get(layers.size() - 1 - kept);
            int i = names.size() - 1 - kept;
            if (!running.name().equals(names.get(i)) || running.readOnly() != spec.readOnly()
                    || !running.config().asMap().equals(configs.get(i).asMap())) {
                break;
            }
            services.set(i, running.service());
            kept++;
        }
        return new Plan(spec, List.copyOf(names), services, configs, layers.subList(layers.size() - kept, layers.size()));
    }

    /**
     * Creates the layers of {@code plan} above the ones it keeps, the lowest first, each with the
     * parameters meant for it and the state its predecessor of the same name handed over (by name
     * and occurrence), each filter over the layer below it. If a layer fails, the layers already
     * created hand their state back into {@code inherited} and close, so nothing handed over is
     * lost; the kept layers are untouched.
     *
     * @throws ConfigException one line naming the layer and what is wrong
     */
    public static Chain build(Plan plan, HandedOver inherited, Optional<Path> stateDirectory, HandleRegistry handles,
                              BufferPool pool) throws ConfigException {
        boolean readOnly = plan.spec.readOnly();
        List<String> names = plan.names;
        List<Integer> occurrence = occurrences(names);
        List<LayerInstance> created = new ArrayList<>();                // outermost first
        LayerInstance below = plan.kept.isEmpty() ? null : plan.kept.get(0);
        try {
            for (int i = names.size() - 1 - plan.kept.size(); i >= 0; i--) {
                Config config = plan.configs.get(i);
                ExportContext context = new ExportContext(plan.spec.name(), readOnly, inherited.get(names.get(i), occurrence.get(i)),
                        stateDirectory);
                LayerInstance layer;
                if (plan.services.get(i) instanceof Plugin plugin) {
                    PluginInstance pi = create(plugin.name(), () -> plugin.create(config, context));
                    layer = LayerInstance.ofPlugin(plugin, config, readOnly, pi);
                } else {
                    Filter filter = (Filter) plan.services.get(i);
                    NextLayer next = new NextLayer(false, handles, pool, readOnly, below);
                    FilterInstance fi;
                    try {
                        fi = create(filter.name(), () -> filter.create(config, context, next));
                    } catch (ConfigException | RuntimeException e) {
                        next.closeShared();
                        throw e;
                    }
                    layer = LayerInstance.ofFilter(filter, config, readOnly, fi, next);
                }
                created.add(0, layer);
                below = layer;
            }
        } catch (ConfigException | RuntimeException e) {
            int first = names.size() - plan.kept.size() - created.size();
            for (int i = 0; i < created.size(); i++) {
                inherited.put(names.get(first + i), occurrence.get(first + i), handOverQuietly(created.get(i)));
            }
            closeAll(created);
            throw e;
        }
        List<LayerInstance> layers = new ArrayList<>(created);
        layers.addAll(plan.kept);
        return of(layers, occurrence, handles, pool);
    }

    /**
     * Opens the chain once for its default export and closes it again, so the export's size is known
     * before any client connects. A chain that serves only the names it is asked for (file dir=,
     * ext2 with exportname) refuses the default export: its size stays unknown. Never fails.
     */
    public void probe(String export, HandleRegistry handles) {
        try {
            String name = defaultExport();
            handles.begin(PROBE);
            try {
                boolean readOnly = layers.get(0).readOnly();
                defaultSize = top.open(new ClientContext(name, readOnly, "size probe", PROBE)).size();
                defaultName = name;
            } finally {
                handles.end(PROBE);
            }
        } catch (NbdException e) {
            LOG.debug("export '{}': no default export to know the size of: {}", export, e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.warn("export '{}': opening its default export to learn the size failed: {}", export, e.toString());
        }
    }

    /** The default export's name and size, learnt from a client's handles instead of a {@link #probe}. */
    public void knownDefault(String name, long size) {
        defaultName = name;
        defaultSize = size;
    }

    private static Object handOverQuietly(LayerInstance l) {
        try {
            return l.handOver();
        } catch (RuntimeException e) {
            LOG.warn("{}: handing over its state failed: {}", l.name(), e.toString());
            return null;
        }
    }

    private interface Creator<T> {
        T create() throws ConfigException;
    }

    private static <T> T create(String layer, Creator<T> creator) throws ConfigException {
        try {
            T t = creator.create();
            if (t == null) {
                throw new ConfigException(layer + ": created no instance");
            }
            return t;
        } catch (ConfigException e) {
            throw e.getMessage() != null && e.getMessage().startsWith(layer + ":") ? e
                    : new ConfigException(layer + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // the message is the one line users see (the command line prints it and exits); the trace is for -v
            LOG.debug("{}: failed to start", layer, e);
            throw new ConfigException(layer + ": failed to start: " + e, e);
        }
    }

    /**
     * Hands each parameter to the first layer, from the top filter down to the plugin, that declares
     * it (under its canonical name); the bare value goes to the plugin's magic parameter. A parameter
     * given more than once (under its name or an alias) keeps its last value, as in nbdkit, unless it
     * is repeatable: then it keeps every value, in order. A secret
     * parameter gets its value from {@code secrets} ({@code +FILE}, {@code -}, {@code -FD}).
     */
    static List<Map<String, String>> distribute(ExportSpec spec, List<Filter> filters, Plugin plugin, SecretValues secrets)
            throws ConfigException {
        List<List<Parameter>> declared = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Filter f : filters) {
            declared.add(f.parameters());
            names.add(f.name());
        }
        declared.add(plugin.parameters());
        names.add(plugin.name());
        List<Map<String, String>> out = new ArrayList<>();
        declared.forEach(d -> out.add(new LinkedHashMap<>()));

        for (Map.Entry<String, String> e : spec.params().entrySet()) {
            String key = e.getKey();
            if (key.equals(ExportSpec.MAGIC_KEY)) {
                key = plugin.magicParameter();
                if (key == null) {
                    throw new ConfigException(plugin.name() + ": '" + e.getValue() + "': this plugin needs key=value parameters");
                }
            }
            boolean placed = false;
            for (int i = 0; i < declared.size() && !placed; i++) {
                for (Parameter p : declared.get(i)) {
                    if (p.matches(key)) {
                        String value = e.getValue();
                        String before = out.get(i).get(p.name());
                        if (!p.repeatable()) {
                            // given twice (or under two names): the last wins, as in nbdkit
                            value = value.substring(value.lastIndexOf(Config.REPEAT_SEPARATOR) + 1);
                            before = null;
                        }
                        if (p.secret()) {
                            try {
                                value = secrets.value(p.name(), value);
                            } catch (ConfigException x) {
                                throw new ConfigException(names.get(i) + ": " + x.getMessage());
                            }
                        }
                        out.get(i).put(p.name(), before == null ? value : before + Config.REPEAT_SEPARATOR + value);
                        placed = true;
                        break;
                    }
                }
            }
            if (!placed) {
                throw new ConfigException("unknown parameter '" + key + "' (" + String.join(", ", names) + " accept: "
                        + String.join(" ", declared.stream().flatMap(List::stream).map(Parameter::name).toList()) + ")");
            }
        }
        for (int i = 0; i < declared.size(); i++) {
            for (Parameter p : declared.get(i)) {
                if (p.required() && !out.get(i).containsKey(p.name())) {
                    throw new ConfigException(names.get(i) + ": " + p.name() + ": this parameter is required");
                }
            }
        }
        return out;
    }

    private static String available(List<String> names) {
        return names.isEmpty() ? "" : " (available: " + String.join(", ", names.stream().sorted().toList()) + ")";
    }

    /** Opens the chain for a connection; the handles are registered under its id. */
    public Boundary open(ClientContext client) throws IOException {
        return top.open(client);
    }

    public List<ExportEntry> listExports(boolean readOnly) throws IOException {
        return top.listExports(readOnly);
    }

    /** The canonical name of the export a client gets when it asks for "" (nbdkit's .default_export). */
    public String defaultExport() throws IOException {
        String name = top.defaultExport();
        return name == null ? "" : name;
    }

    /**
     * The meta contexts a client may select on this chain: base:allocation, then those the layers
     * add (the outermost layer's answer). Any thread; the list may change while the chain runs.
     */
    public List<String> metaContexts() {
        java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>();
        all.add(Extents.BASE_ALLOCATION);
        all.addAll(top.metaContexts());
        return List.copyOf(all);
    }

    /** The name the chain's size was learnt under (its default export's canonical name). */
    public String defaultName() {
        return defaultName;
    }

    /** The default export's size; -1 if not known (the chain refused to open it). */
    public long defaultSize() {
        return defaultSize;
    }

    public ThreadModel threadModel() {
        return threadModel;
    }

    /** Whether a layer of this chain was created by {@code service} (a Plugin or Filter object). */
    public boolean uses(Object service) {
        return layers.stream().anyMatch(l -> l.service() == service);
    }

    /** How many bottom layers lie below every layer created by {@code service}. */
    public int keptWithout(Object service) {
        int below = layers.size();
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).service() == service) {
                below = layers.size() - 1 - i;
            }
        }
        return below;
    }

    /**
     * Each layer reports its own metrics, outermost first, into the sink {@code perLayer} gives for
     * its name and occurrence in the export's spec (1 for the first layer of that name). Any thread.
     */
    public void metrics(BiFunction<String, Integer, MetricSink> perLayer) {
        for (int i = 0; i < layers.size(); i++) {
            LayerInstance l = layers.get(i);
            try {
                l.metrics(perLayer.apply(l.name(), occurrence.get(i) + 1));
            } catch (RuntimeException e) {
                LOG.debug("layer '{}': its metrics were not reported: {}", l.name(), e.toString());
            }
        }
    }

    /** What each layer reports about itself, outermost first; the values of its secret parameters show as {@code ***}. */
    public List<LayerInfo> info() {
        return layers.stream().map(l -> new LayerInfo(l.name(), l.isFilter(), shown(l), l.threadModel(), l.status())).toList();
    }

    private static Map<String, String> shown(LayerInstance l) {
        Map<String, String> out = new LinkedHashMap<>();
        l.config().asMap().forEach((k, v) -> out.put(k, ExportSpec.isSecret(k, l.parameters()) ? "***" : v));
        return out;
    }

    /** The layers above the bottom {@code keep}, outermost first. */
    public List<LayerInstance> above(int keep) {
        return layers.subList(0, layers.size() - keep);
    }

    /** The bottom {@code keep} layers, as a chain of their own (the part a change keeps). */
    public Chain bottom(int keep, HandleRegistry handles, BufferPool pool) {
        int from = layers.size() - keep;
        return keep == layers.size() ? this
                : of(layers.subList(from, layers.size()), occurrence.subList(from, layers.size()), handles, pool);
    }

    /** Every parameter the layers of {@code spec} declare (those present in {@code catalog}), to tell secrets. */
    public static List<Parameter> declared(ExportSpec spec, Catalog catalog) {
        List<Parameter> out = new ArrayList<>();
        Plugin plugin = catalog.plugin(spec.plugin());
        if (plugin != null) {
            out.addAll(plugin.parameters());
        }
        for (String f : spec.filters()) {
            Filter filter = catalog.filter(f);
            if (filter != null) {
                out.addAll(filter.parameters());
            }
        }
        return out;
    }

    /** Closes every layer, the outermost first, so a filter can still write through the layers below. */
    public void close() {
        closeAll(layers);
    }

    /**
     * Takes apart the layers above the bottom {@code keep} (outermost first, with no handles open on
     * them), for the layers {@code plan} builds there; null: for a successor of every layer (a bundle
     * going, expected back). A layer the plan also builds (same name and occurrence, counted from the
     * outermost in the spec each was built for) hands over its state; a filter it does not build is
     * told it is removed ({@code FilterInstance.removed()}) and closed as when its export stops (stats
     * writes its report, cache writes its dirty blocks back), together with the layers above it, while the layers below it still hold their state. A plugin taken apart always hands
     * over: a refused change rebuilds the old chain from it. The bottom {@code keep} layers are not
     * touched.
     */
    public HandedOver dismantleAbove(int keep, Plan plan) {
        Set<String> successors = plan == null ? null : keys(plan.newNames());
        List<LayerInstance> going = above(keep);
        HandedOver states = new HandedOver();
        int closed = 0;                                                   // going[0, closed) are closed
        for (int i = 0; i < going.size(); i++) {
            LayerInstance l = going.get(i);
            if (successors == null || !l.isFilter() || successors.contains(l.name() + "#" + occurrence.get(i))) {
                states.put(l.name(), occurrence.get(i), handOverQuietly(l));
            } else {
                removedQuietly(l);
                closeAll(going.subList(closed, i + 1));
                closed = i + 1;
            }
        }
        closeAll(going.subList(closed, going.size()));
        return states;
    }

    private static void removedQuietly(LayerInstance l) {
        try {
            l.removed();
        } catch (RuntimeException e) {
            LOG.warn("{}: removing it failed: {}", l.name(), e.toString());
        }
    }

    private static void closeAll(List<LayerInstance> layers) {
        for (LayerInstance l : layers) {
            try {
                l.close();
            } catch (Exception e) {
                LOG.warn("{}: close failed: {}", l.name(), e.toString());
            }
        }
    }
}
