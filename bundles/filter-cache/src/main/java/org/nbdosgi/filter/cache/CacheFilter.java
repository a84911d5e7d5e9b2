package org.nbdosgi.filter.cache;

import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Component;

/**
 * {@code --filter=cache}: a local block cache in a temporary sparse file in front of a slow layer,
 * with nbdkit's cache filter's parameters. Control plane: checks the parameters and creates the
 * export's {@link CacheInstance}.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=cache")
public final class CacheFilter implements Filter {

    @Override
    public String name() {
        return "cache";
    }

    @Override
    public String description() {
        return "a local block cache (writeback, writethrough or unsafe) in front of a slow layer";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.of("cache", "writeback (default): writes reach the layer below on flush or FUA; "
                        + "writethrough: at once; unsafe: flush is ignored"),
                Parameter.of("cache-on-read", "true: keep what is read from below in the cache; false (default); "
                        + "/PATH: true while PATH exists"),
                Parameter.of("cache-min-block-size", "cache block size, a power of 2 >= 4K (default 64K, or the "
                        + "cache file system's block size if larger)"),
                Parameter.of("cache-max-size", "the most the cache file may hold, e.g. 1G (default: no limit)"),
                Parameter.of("cache-high-threshold", "percentage of cache-max-size above which blocks are reclaimed (default 95)"),
                Parameter.of("cache-low-threshold", "percentage of cache-max-size reclaim goes down to (default 80)"));
    }

    @Override
    public String help() {
        return """
                The cache file lives in $TMPDIR (default /var/tmp) and is deleted at once.
                Examples:
                  nbd-osgi --filter=cache file disk.img
                  nbd-osgi --filter=cache --filter=delay memory 1G rdelay=10ms cache-on-read=true
                  nbd-osgi --filter=cache file disk.img cache=writethrough cache-max-size=1G""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        return CacheInstance.create(CacheOptions.from(config, System.getenv("TMPDIR")), export, next);
    }
}
