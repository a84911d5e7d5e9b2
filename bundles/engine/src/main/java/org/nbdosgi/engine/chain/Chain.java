package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.LayerInfo;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.ThreadModel;
import org.nbdosgi.engine.protocol.BufferPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running layers of one export, outermost filter first and the plugin last. Built and closed on
 * the control plane; {@link #open} runs when a client connects.
 */
public final class Chain {
    private static final Logger LOG = LoggerFactory.getLogger(Chain.class);
    /** The id the size probe's handles are registered under (connection ids start at 1). */
    private static final long PROBE = -1;

    private final List<LayerInstance> layers;
    private final NextLayer top;
    private final ThreadModel threadModel;
    private String defaultName = "";
    private long defaultSize = -1;

    private Chain(List<LayerInstance> layers, NextLayer top) {
        this.layers = List.copyOf(layers);
        this.top = top;
        ThreadModel m = ThreadModel.PARALLEL;
        for (LayerInstance l : layers) {
            m = m.restrict(l.threadModel());
        }
        this.threadModel = m;
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

        java.util.Optional<Object> get(String layer, int occurrence) {
            List<Object> list = byName.get(layer);
            return java.util.Optional.ofNullable(list == null || occurrence >= list.size() ? null : list.get(occurrence));
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

    /**
     * Creates the instances of every layer of {@code spec}, the plugin first, each with the
     * parameters meant for it and the state its predecessor of the same name handed over. If a layer
     * fails, the layers already created hand their state back into {@code inherited} and close, so
     * nothing handed over is lost.
     *
     * @throws ConfigException one line naming the layer and what is wrong
     */
    public static Chain build(ExportSpec spec, Catalog catalog, HandedOver inherited, HandleRegistry handles,
                              BufferPool pool) throws ConfigException {
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
        List<Map<String, String>> perLayer = distribute(spec, filters, plugin, catalog.secrets());
        List<String> names = new ArrayList<>(spec.filters());            // outermost first, like the spec
        names.add(spec.plugin());
        List<Integer> occurrence = occurrences(names);
        List<ExportContext> contexts = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            contexts.add(new ExportContext(spec.name(), spec.readOnly(), inherited.get(names.get(i), occurrence.get(i))));
        }

        List<LayerInstance> layers = new ArrayList<>();
        try {
            Config pluginConfig = new Config(perLayer.get(filters.size()));
            ExportContext pluginContext = contexts.get(filters.size());
            PluginInstance pi = create(plugin.name(), () -> plugin.create(pluginConfig, pluginContext));
            LayerInstance below = LayerInstance.ofPlugin(plugin, pluginConfig, pi);
            layers.add(0, below);
            for (int i = filters.size() - 1; i >= 0; i--) {
                Filter filter = filters.get(i);
                Config config = new Config(perLayer.get(i));
                ExportContext context = contexts.get(i);
                NextLayer next = new NextLayer(below, false, handles, pool, spec.readOnly());
                FilterInstance fi;
                try {
                    fi = create(filter.name(), () -> filter.create(config, context, next));
                } catch (ConfigException | RuntimeException e) {
                    next.closeShared();
                    throw e;
                }
                LayerInstance layer = LayerInstance.ofFilter(filter, config, fi, next);
                layers.add(0, layer);
                below = layer;
            }
            NextLayer top = new NextLayer(layers.get(0), true, handles, pool, spec.readOnly());
            Chain chain = new Chain(layers, top);
            chain.probe(spec, handles);
            return chain;
        } catch (ConfigException | RuntimeException e) {
            int first = names.size() - layers.size();                 // layers holds the innermost ones
            for (int i = 0; i < layers.size(); i++) {
                inherited.put(names.get(first + i), occurrence.get(first + i), handOverQuietly(layers.get(i)));
            }
            closeAll(layers);
            throw e;
        }
    }

    /**
     * Opens the chain once for its default export and closes it again, so the export's size is known
     * before any client connects. A chain that serves only the names it is asked for (file dir=,
     * ext2 with exportname) refuses the default export: its size stays unknown. Never fails the build.
     */
    private void probe(ExportSpec spec, HandleRegistry handles) {
        try {
            String name = defaultExport();
            handles.begin(PROBE);
            try {
                defaultSize = top.open(new ClientContext(name, spec.readOnly(), "size probe", PROBE)).size();
                defaultName = name;
            } finally {
                handles.end(PROBE);
            }
        } catch (NbdException e) {
            LOG.debug("export '{}': no default export to know the size of: {}", spec.name(), e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.warn("export '{}': opening its default export to learn the size failed: {}", spec.name(), e.toString());
        }
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

    /** The name the chain was probed with when it was built (its default export's canonical name). */
    public String defaultName() {
        return defaultName;
    }

    /** The default export's size, known since the chain was built; -1 if the chain refused to open it. */
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

    /**
     * Each layer reports its own metrics, outermost first, into the sink {@code perLayer} gives for
     * its name and occurrence (1 for the first layer of that name). Any thread.
     */
    public void metrics(BiFunction<String, Integer, MetricSink> perLayer) {
        Map<String, Integer> seen = new HashMap<>();
        for (LayerInstance l : layers) {
            try {
                l.metrics(perLayer.apply(l.name(), seen.merge(l.name(), 1, Integer::sum)));
            } catch (RuntimeException e) {
                LOG.debug("layer '{}': its metrics were not reported: {}", l.name(), e.toString());
            }
        }
    }

    /** What each layer reports about itself, outermost first; the values of its secret parameters show as {@code ***}. */
    public List<LayerInfo> info() {
        return layers.stream().map(l -> new LayerInfo(l.name(), l.isFilter(), shown(l), l.threadModel())).toList();
    }

    private static Map<String, String> shown(LayerInstance l) {
        Map<String, String> out = new LinkedHashMap<>();
        l.config().asMap().forEach((k, v) -> out.put(k, ExportSpec.isSecret(k, l.parameters()) ? "***" : v));
        return out;
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
     * Takes the chain apart for successors of every layer (a bundle going, expected back): asks each
     * layer for the state to hand over, then closes them all. Control plane, with no handles open on
     * the chain.
     */
    public HandedOver dismantle() {
        return dismantle(null);
    }

    /**
     * Takes the chain apart for the chain of {@code successor} (null: a successor for every layer).
     * A layer the successor also has (same name and occurrence) hands over its state; a filter it
     * does not have is closed as when its export stops (stats writes its report, cache writes its
     * dirty blocks back), together with the layers above it, outermost first, while the layers below
     * it still hold their state. The plugin always hands over: a refused change rebuilds the old
     * chain from it. Control plane, with no handles open on the chain.
     */
    public HandedOver dismantle(ExportSpec successor) {
        Set<String> kept = successor == null ? null : keys(successor);
        HandedOver states = new HandedOver();
        List<Integer> occurrence = occurrences(layers.stream().map(LayerInstance::name).toList());
        int closed = 0;                                                   // layers [0, closed) are closed
        for (int i = 0; i < layers.size(); i++) {
            LayerInstance l = layers.get(i);
            if (kept == null || !l.isFilter() || kept.contains(key(l.name(), occurrence.get(i)))) {
                states.put(l.name(), occurrence.get(i), handOverQuietly(l));
            } else {
                closeAll(layers.subList(closed, i + 1));
                closed = i + 1;
            }
        }
        closeAll(layers.subList(closed, layers.size()));
        return states;
    }

    /** The layers of {@code spec} as HandedOver keys them: "name#occurrence". */
    private static Set<String> keys(ExportSpec spec) {
        List<String> names = new ArrayList<>(spec.filters());
        names.add(spec.plugin());
        List<Integer> occurrence = occurrences(names);
        Set<String> out = new HashSet<>();
        for (int i = 0; i < names.size(); i++) {
            out.add(key(names.get(i), occurrence.get(i)));
        }
        return out;
    }

    private static String key(String layer, int occurrence) {
        return layer + "#" + occurrence;
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
