package org.nbdosgi.filter.retry;

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
 * {@code --filter=retry}: when a request fails, waits, reopens the layers below (a new connection
 * to a remote server) and sends the request again, so a short outage is invisible to the client.
 * Control plane.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=retry")
public final class RetryFilter implements Filter {

    @Override
    public String name() {
        return "retry";
    }

    @Override
    public String description() {
        return "reopens the layers below and retries failed requests";
    }

    @Override
    public List<Parameter> parameters() {
        return RetryPolicy.parameters();
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi --filter=retry nbd nbd://server.example.com/disk
                  nbd-osgi --filter=retry nbd socket=/run/upstream.sock retries=10 retry-delay=500ms retry-exponential=no""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        RetryPolicy policy = RetryPolicy.from(config);
        return client -> new RetryHandle(next, client, policy);
    }
}
