package org.nbdosgi.engine.chain;

import java.io.IOException;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.ThreadModel;

/**
 * One layer of a running export: the plugin's or filter's instance, the parameters it was created
 * with, and (for a filter) the {@link NextLayer} through which it reaches the layer below, which
 * holds the handles it opened there for itself. Created and closed on the control plane; a rewire
 * that does not change it or anything below it keeps it, with its state and its handles.
 */
public final class LayerInstance {
    private final Object service;
    private final String name;
    private final Config config;
    private final boolean readOnly;
    private final PluginInstance plugin;
    private final FilterInstance filter;
    private final NextLayer next;

    private LayerInstance(Object service, String name, Config config, boolean readOnly, PluginInstance plugin,
                          FilterInstance filter, NextLayer next) {
        this.service = service;
        this.name = name;
        this.config = config;
        this.readOnly = readOnly;
        this.plugin = plugin;
        this.filter = filter;
        this.next = next;
    }

    static LayerInstance ofPlugin(Plugin plugin, Config config, boolean readOnly, PluginInstance instance) {
        return new LayerInstance(plugin, plugin.name(), config, readOnly, instance, null, null);
    }

    static LayerInstance ofFilter(Filter filter, Config config, boolean readOnly, FilterInstance instance, NextLayer next) {
        return new LayerInstance(filter, filter.name(), config, readOnly, null, instance, next);
    }

    /** The Plugin or Filter service this layer was created by. */
    Object service() {
        return service;
    }

    /** The parameters the layer's service declares. */
    List<Parameter> parameters() {
        return service instanceof Plugin p ? p.parameters() : ((Filter) service).parameters();
    }

    public String name() {
        return name;
    }

    public boolean isFilter() {
        return filter != null;
    }

    public Config config() {
        return config;
    }

    /** Whether the layer was created for a read-only export. */
    boolean readOnly() {
        return readOnly;
    }

    public ThreadModel threadModel() {
        ThreadModel m = filter != null ? filter.threadModel() : plugin.threadModel();
        return m == null ? ThreadModel.PARALLEL : m;
    }

    Handle openRaw(ClientContext client) throws IOException {
        return filter != null ? filter.open(client) : plugin.open(client);
    }

    List<ExportEntry> listExports(boolean readOnly) throws IOException {
        if (plugin != null) {
            return plugin.listExports(readOnly);
        }
        List<ExportEntry> own = filter.listExports(readOnly);
        return own != null ? own : next.listExports(readOnly);
    }

    String defaultExport() throws IOException {
        if (plugin != null) {
            return plugin.defaultExport();
        }
        String own = filter.defaultExport();
        return own != null ? own : next.defaultExport();
    }

    /** The meta contexts the layer answers besides base:allocation (its own, or the layer below's). */
    List<String> metaContexts() {
        if (plugin != null) {
            return plugin.metaContexts();
        }
        List<String> own = filter.metaContexts();
        return own != null ? own : next.metaContexts();
    }

    /** What the layer says about itself now (for nbd:chain); never fails. */
    List<String> status() {
        try {
            List<String> lines = filter != null ? filter.status() : plugin.status();
            return lines == null ? List.of() : lines;
        } catch (RuntimeException e) {
            return List.of("status failed: " + e);
        }
    }

    /** A change removes this filter from an export that goes on without it. */
    void removed() {
        if (filter != null) {
            filter.removed();
        }
    }

    /** The instance reports its own metrics (any thread, while it lives). */
    public void metrics(MetricSink sink) {
        if (filter != null) {
            filter.metrics(sink);
        } else {
            plugin.metrics(sink);
        }
    }

    /** The state for a successor of the same plugin or filter (hot swap), or null. */
    Object handOver() {
        return filter != null ? filter.handOver() : plugin.handOver();
    }

    /** Closes the instance, then the handles it opened below for itself. */
    void close() throws Exception {
        try {
            if (filter != null) {
                filter.close();
            } else {
                plugin.close();
            }
        } finally {
            if (next != null) {
                next.closeShared();
            }
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
