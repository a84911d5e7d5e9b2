package org.nbdosgi.filter.stats;

import java.util.List;
import java.util.Map;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code --filter=stats}: counts requests, bytes and time per operation, with request size and
 * alignment histograms, and reports them in nbdkit's format: in the statsfile when the export
 * stops, and at any moment through {@code nbd:stats}. Control plane.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=stats")
public final class StatsFilter implements Filter {
    static final int DEFAULT_THRESHOLD = 95;

    private final LiveStats live;

    @Activate
    public StatsFilter(@Reference LiveStats live) {
        this.live = live;
    }

    @Override
    public String name() {
        return "stats";
    }

    @Override
    public String description() {
        return "counts requests, bytes and time per operation";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.of("statsfile", "where the statistics are written when the export stops (without it: the log, and nbd:stats)"),
                Parameter.of("statsappend", "true: append to the statsfile instead of replacing it"),
                Parameter.of("statsthreshold", "percentile of requests the size and alignment histograms cover, 0-100 (default "
                        + DEFAULT_THRESHOLD + "; 0: no histograms)"),
                Parameter.of("statsbyidentity", "true: the report also counts per client identity (TLS psk:NAME or "
                        + "certificate subject; 'no TLS', 'anonymous')"));
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi --filter=stats memory 1G statsfile=/tmp/stats.txt
                  nbd-osgi --filter=stats memory 1G statsfile=/dev/stderr statsthreshold=100
                  nbd-osgi --tls=require --tls-psk=keys.psk --filter=stats memory 1G statsbyidentity=true
                In the console: nbd:stats EXPORT, nbd:stats --reset EXPORT""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        int threshold = config.integer("statsthreshold", DEFAULT_THRESHOLD);
        if (threshold < 0 || threshold > 100) {
            throw new ConfigException("statsthreshold: must be a percentage from 0 to 100, not " + threshold);
        }
        boolean append = config.bool("statsappend", false);
        if (config.has("statsappend") && !config.has("statsfile")) {
            throw new ConfigException("statsappend: only makes sense with statsfile=FILE");
        }
        boolean histograms = threshold > 0;
        boolean byIdentity = config.bool("statsbyidentity", false);
        Counters counters = export.inheritedState().map(s -> StatsInstance.inherit(s, histograms))
                .orElseGet(() -> new Counters(System.nanoTime(), histograms));
        Map<String, Counters> identities = byIdentity
                ? export.inheritedState().map(StatsInstance::inheritIdentities).orElseGet(java.util.concurrent.ConcurrentHashMap::new)
                : null;
        StatsFile file = config.has("statsfile") ? StatsFile.open(config.require("statsfile"), append) : null;
        StatsInstance instance = new StatsInstance(export.exportName(), next, threshold, file, counters, identities, live);
        live.add(instance);
        return instance;
    }
}
