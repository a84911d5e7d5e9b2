package org.nbdosgi.plugin.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.osgi.service.component.annotations.Component;

/**
 * {@code http [url=]URL}: a read-only disk whose bytes are a file on a web server, read with
 * ranged GETs (nbdkit's curl plugin for HTTP and HTTPS). Every request of every client is one GET,
 * sent at once: many in flight on one client connection, up to {@code connections=} at the server.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=http")
public final class HttpPlugin implements Plugin {

    @Override
    public String name() {
        return "http";
    }

    @Override
    public String description() {
        return "a read-only disk from an HTTP(S) URL (ranged GETs, many in flight)";
    }

    @Override
    public List<Parameter> parameters() {
        return HttpSettings.parameters();
    }

    @Override
    public String magicParameter() {
        return "url";
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi -r http https://example.com/disk.img
                  nbd-osgi --filter=cow http http://host/disk.img                 (writable for the session)
                  nbd-osgi http https://host/d.img cainfo=/etc/ca.pem user=me password=+/run/pw header='X-Token: 1'""";
    }

    /** Connects and asks the size once, so a wrong URL, credential or certificate fails the export's start. */
    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        return new Instance(Remote.connect(HttpSettings.parse(config)));
    }

    /** One export: the client, its pool and the size, shared by every connection. */
    private record Instance(Remote remote) implements PluginInstance {
        @Override
        public Handle open(ClientContext client) {
            return new HttpHandle(remote);
        }

        @Override
        public void metrics(MetricSink sink) {
            remote.metrics(sink);
        }

        @Override
        public void close() {
            remote.close();
        }
    }

    /**
     * A connection's view: nothing of its own. Read-only and the same for every connection (so
     * multi-conn); extents are left to the engine, which reports all data.
     */
    private record HttpHandle(Remote remote) implements Handle {
        @Override
        public long size() {
            return remote.size();
        }

        @Override
        public boolean canMultiConn() {
            return true;
        }

        @Override
        public String description() {
            return remote.where();
        }

        @Override
        public void read(ByteBuffer buf, long offset, int flags) throws IOException {
            remote.read(buf, offset);
        }
    }
}
