package org.nbdosgi.filter.cow;

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
 * {@code --filter=cow}: a copy-on-write overlay in a temporary sparse file that makes the layer
 * below writable for the session without writing to it (nbdkit's cow filter). Control plane:
 * checks the parameters and creates the export's {@link CowInstance}.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=cow")
public final class CowFilter implements Filter {

    @Override
    public String name() {
        return "cow";
    }

    @Override
    public String description() {
        return "a copy-on-write overlay in a temporary file: the layer below becomes writable, and is never written";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.of("cow-block-size", "overlay block size, a power of 2 from 4K to 32M (default 64K)"),
                Parameter.of("cow-on-read", "true: keep what reads fetch from below in the overlay; false (default); "
                        + "/PATH: true while PATH exists"),
                Parameter.of("cow-on-cache", "true: cache (prefetch) requests copy from below into the overlay; "
                        + "false (default): they are passed below"));
    }

    @Override
    public String help() {
        return """
                The overlay lives in $TMPDIR (default /var/tmp), deleted at once; writes are gone when the server stops.
                Examples:
                  nbd-osgi --filter=cow http https://example.com/disk.img
                  nbd-osgi --filter=cow file disk.img cow-on-read=true cow-block-size=1M""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        return CowInstance.create(CowOptions.from(config, System.getenv("TMPDIR")), export, next);
    }
}
