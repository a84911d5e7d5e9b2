package org.nbdosgi.plugin.nbd;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.nbdosgi.api.CallLatency;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.PluginInstance;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One nbd export: where the upstream is. Each client connection gets connections of its own to the
 * upstream server, made when it connects ({@link #open}), so a server that went away is simply
 * reached again by the next open. Control plane, except {@link #open}.
 */
final class NbdInstance implements PluginInstance {
    private static final Logger LOG = LoggerFactory.getLogger(NbdInstance.class);

    private final NbdSettings settings;
    private final String threadPrefix;
    private final AtomicInteger connectionNumber = new AtomicInteger();
    /** The upstream's latency and failures per command, over every connection to it. */
    private final CallLatency calls = new CallLatency(Upstream.CALLS);

    NbdInstance(NbdSettings settings, String exportName) {
        this.settings = settings;
        this.threadPrefix = "nbd-upstream-" + (exportName.isEmpty() ? "" : exportName + "-");
    }

    /**
     * Connects to the upstream export (the client's name with {@code dynamic-export=true}), then, if
     * it offers multi-conn, to {@code connections - 1} more. Waits unmounted while platform threads
     * connect.
     */
    @Override
    public Handle open(ClientContext client) throws IOException {
        String export = settings.dynamicExport() ? client.exportName() : settings.export();
        List<Upstream> upstreams = new ArrayList<>();
        try {
            upstreams.add(connectRetrying(export));
            int n = upstreams.get(0).info().multiConn() ? settings.connections() : 1;
            if (n < settings.connections()) {
                LOG.debug("upstream {} does not offer multi-conn: one connection, not {}", settings.target(), settings.connections());
            }
            while (upstreams.size() < n) {
                upstreams.add(Upstream.connect(settings, export, threadPrefix + connectionNumber.incrementAndGet(), calls));
            }
            return new NbdHandle(upstreams, client.readOnly());
        } catch (IOException | RuntimeException e) {
            upstreams.forEach(Upstream::close);
            LOG.warn("upstream not reached for {}: {}", client.clientAddress(), e.getMessage());
            throw e;
        }
    }

    /** How long the upstream server takes to answer, by command ({@code nbd_nbd_request_seconds{op="read"}}). Any thread. */
    @Override
    public void metrics(MetricSink sink) {
        calls.report(sink);
    }

    /** The first connection, tried {@code retry} more times a second apart (nbdkit's {@code retry=}). */
    private Upstream connectRetrying(String export) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return Upstream.connect(settings, export, threadPrefix + connectionNumber.incrementAndGet(), calls);
            } catch (NbdException e) {
                if (attempt >= settings.retry()) {
                    throw e;
                }
                LOG.debug("{}; retrying in 1 s", e.getMessage());
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }
}
