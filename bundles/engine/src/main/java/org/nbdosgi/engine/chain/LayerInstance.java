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
 * with, and the shared handles it opened on the layer below. Created and closed on the control plane.
 */
public final class LayerInstance {
    private final Object service;
    private final String name;
    private final Config config;
    private final PluginInstance plugin;
    private final FilterInstance filter;
    private final NextLayer below;

    private LayerInstance(Object service, String name, Config config, PluginInstance plugin, FilterInstance filter,
                          NextLayer below) {
        this.service = service;
        this.name = name;
        this.config = config;
        this.plugin = plugin;
        this.filter = filter;
        this.below = below;
    }

    static LayerInstance ofPlugin(Plugin plugin, Config config, PluginInstance instance) {
        return new LayerInstance(plugin, plugin.name(), config, instance, null, null);
    }

    static LayerInstance ofFilter(Filter filter, Config config, FilterInstance instance, NextLayer below) {
        return new LayerInstance(filter, filter.name(), config, null, instance, below);
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
        return own != null ? own : below.listExports(readOnly);
    }

    String defaultExport() throws IOException {
        if (plugin != null) {
            return plugin.defaultExport();
        }
        String own = filter.defaultExport();
        return own != null ? own : below.defaultExport();
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
    public Object handOver() {
        return filter != null ? filter.handOver() : plugin.handOver();
    }

    /** Closes the instance, then the shared handles it opened below. */
    public void close() throws Exception {
        try {
            if (filter != null) {
                filter.close();
            } else {
                plugin.close();
            }
        } finally {
            if (below != null) {
                below.closeShared();
            }
        }
    }
}
