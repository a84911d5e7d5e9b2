package org.nbdosgi.filter.readahead;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.Support;
import org.osgi.service.component.annotations.Component;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --filter=readahead}: prefetches ahead of sequential reads by sending cache requests to the
 * layer below (nbdkit's readahead filter). The data lands in whatever cache the layer below keeps:
 * the cache filter, the cow filter with {@code cow-on-cache=true}, or a plugin that caches itself.
 * Control plane: creates the instance; each connection gets a {@link ReadaheadHandle}.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=readahead")
public final class ReadaheadFilter implements Filter {
    private static final Logger LOG = LoggerFactory.getLogger(ReadaheadFilter.class);

    @Override
    public String name() {
        return "readahead";
    }

    @Override
    public String description() {
        return "prefetches ahead of sequential reads into the layer below's cache (adaptive window)";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of();
    }

    @Override
    public String help() {
        return """
                The layer below must keep what it prefetches: put the cache filter (or cow with cow-on-cache=true) under it.
                Examples:
                  nbd-osgi --filter=readahead --filter=cache http https://example.com/disk.img
                  nbd-osgi --filter=readahead --filter=cow http http://host/disk.img cow-on-cache=true""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) {
        AtomicBoolean warned = new AtomicBoolean();
        return new FilterInstance() {
            @Override
            public Handle open(ClientContext client) throws IOException {
                Handle below = next.open(client);
                Support cache = below.canCache();
                if (cache != Support.NATIVE && warned.compareAndSet(false, true)) {
                    LOG.warn("readahead: export '{}': the layer below keeps no cache (cache requests: {}), so prefetching cannot help "
                            + "and is off; put --filter=cache (or --filter=cow with cow-on-cache=true) under readahead",
                            export.exportName(), cache.name().toLowerCase(java.util.Locale.ROOT));
                }
                return new ReadaheadHandle(below, cache == Support.NATIVE);
            }
        };
    }
}
