package org.nbdosgi.filter.limit;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Component;

/**
 * {@code --filter=limit}: at most {@code limit} clients on the export at once (nbdkit's parameter
 * and default, 1; 0 is no limit). A client past the limit is refused when it opens the export
 * (NBD_REP_ERR_POLICY); one leaving frees its place. One atomic counter per export, no lock.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=limit")
public final class LimitFilter implements Filter {
    @Override
    public String name() {
        return "limit";
    }

    @Override
    public String description() {
        return "limits how many clients the export serves at once";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.of("limit", "most clients connected at once (default 1, 0 for no limit)"));
    }

    @Override
    public String help() {
        return """
                Example:
                  nbd-osgi --filter=limit memory 1G limit=2""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        int limit = config.integer("limit", 1);
        if (limit < 0) {
            throw new ConfigException("limit: limit=" + limit + " must be 0 (no limit) or more");
        }
        return new Instance(limit, next);
    }

    /** The export's count of clients; handles the server opens for itself are not counted. */
    static final class Instance implements FilterInstance {
        private final int limit;
        private final Layer next;
        private final AtomicInteger clients = new AtomicInteger();

        Instance(int limit, Layer next) {
            this.limit = limit;
            this.next = next;
        }

        int clients() {
            return clients.get();
        }

        @Override
        public Handle open(ClientContext client) throws IOException {
            if (limit == 0 || client.connectionId() <= 0) {
                return next.open(client);
            }
            if (clients.incrementAndGet() > limit) {
                clients.decrementAndGet();
                throw new NbdException(NbdError.EPERM, "limit: too many clients connected (limit=" + limit + "), connection refused");
            }
            try {
                return new Counted(next.open(client), clients);
            } catch (IOException | RuntimeException e) {
                clients.decrementAndGet();
                throw e;
            }
        }
    }

    /** A client's handle: gives its place back once, when it closes. */
    private static final class Counted extends FilterHandle {
        private final AtomicInteger clients;
        private final AtomicBoolean closed = new AtomicBoolean();

        Counted(Handle next, AtomicInteger clients) {
            super(next);
            this.clients = clients;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                clients.decrementAndGet();
            }
        }
    }
}
