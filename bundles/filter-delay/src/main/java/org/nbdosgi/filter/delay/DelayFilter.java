package org.nbdosgi.filter.delay;

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
 * {@code --filter=delay}: makes requests wait before they reach the layer below, to simulate slow
 * or remote storage. The parameters are nbdkit's, plus {@code delay-flush}. Control plane.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=delay")
public final class DelayFilter implements Filter {
    private static final String D = " (e.g. 10ms, 1s, 500us; a bare number is seconds)";

    @Override
    public String name() {
        return "delay";
    }

    @Override
    public String description() {
        return "delays requests to simulate slow or remote storage";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.of("rdelay", "delay of each read" + D).withAliases("delay-read"),
                Parameter.of("wdelay", "delay of each write, zero and trim" + D),
                Parameter.of("delay-write", "delay of each write (overrides wdelay for writes)"),
                Parameter.of("delay-zero", "delay of each zero (overrides wdelay for zeros)"),
                Parameter.of("delay-trim", "delay of each trim (overrides wdelay for trims)"),
                Parameter.of("delay-extents", "delay of each block status request"),
                Parameter.of("delay-cache", "delay of each cache request"),
                Parameter.of("delay-flush", "delay of each flush"),
                Parameter.of("delay-fast-zero", "false: fail fast-zero requests at once with ENOTSUP when zeros are delayed (default true)"),
                Parameter.of("delay-open", "delay of each client connection"),
                Parameter.of("delay-close", "delay of each client disconnection"));
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi --filter=delay memory 1G rdelay=10ms
                  nbd-osgi --filter=delay file disk.img rdelay=100ms wdelay=100ms
                  nbd-osgi --filter=delay memory 1G delay-zero=1s delay-fast-zero=false""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        Delays delays = Delays.from(config);
        return client -> {
            Delays.sleep(delays.open());
            return new DelayHandle(next.open(client), delays);
        };
    }
}
