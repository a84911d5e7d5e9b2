package org.nbdosgi.itests.broken;

import java.util.Hashtable;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.osgi.framework.BundleActivator;
import org.osgi.framework.BundleContext;

/**
 * A plugin with a bug: its {@code create} throws a RuntimeException. {@code CommandLineIT} packs
 * this class into a bundle of its own (its activator registers the plugin as "broken") and drops it
 * into a copy of the distribution, to see what a user of such a plugin gets.
 */
public final class BrokenPlugin implements Plugin, BundleActivator {
    @Override
    public void start(BundleContext context) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Plugin.NAME_PROPERTY, name());
        context.registerService(Plugin.class, this, props);
    }

    @Override
    public void stop(BundleContext context) {
    }

    @Override
    public String name() {
        return "broken";
    }

    @Override
    public String description() {
        return "fails to start";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) {
        throw new IllegalStateException("broken on purpose");
    }
}
