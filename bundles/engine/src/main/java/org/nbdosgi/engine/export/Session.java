package org.nbdosgi.engine.export;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.ThreadModel;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.metrics.RequestMeter;

/**
 * One client's attachment to an export: the top of the chain as opened for it, and what it was
 * promised. Requests run through {@link #run}, which passes the drain gate and applies the
 * export's thread model. When the control plane rewires the export, {@link #replaceTop} swaps in
 * the handles of the new chain while the gate is closed.
 */
public final class Session implements AutoCloseable {
    /** A request's work against the top of the chain. */
    public interface Body {
        void run(Boundary top) throws IOException;
    }

    private final Export export;
    private final ClientContext client;
    private final Promise promise;
    private final Consumer<String> disconnect;
    private final boolean holdsConnectionSlot;
    private final ReentrantLock serializeRequests = new ReentrantLock();
    private volatile Boundary top;
    private volatile String revoked;
    private volatile List<String> metaContexts = List.of();
    private RequestMeter meter;

    Session(Export export, ClientContext client, Boundary top, Consumer<String> disconnect, boolean holdsConnectionSlot) {
        this.export = export;
        this.client = client;
        this.top = top;
        this.promise = Promise.of(top.capabilities());
        this.disconnect = disconnect;
        this.holdsConnectionSlot = holdsConnectionSlot;
    }

    public Export export() {
        return export;
    }

    public ClientContext client() {
        return client;
    }

    public Promise promise() {
        return promise;
    }

    /** The meta contexts the client selected for transmission (part of what it was promised). */
    public List<String> metaContexts() {
        return metaContexts;
    }

    /** Handshake: the client enters transmission with these meta contexts selected. */
    public void selectMetaContexts(List<String> selected) {
        this.metaContexts = List.copyOf(selected);
    }

    /** The top of the chain as opened for this client. */
    public Boundary top() {
        return top;
    }

    /** Control plane, with the gate closed: the client now runs on a newly opened chain. */
    public void replaceTop(Boundary newTop) {
        this.top = newTop;
    }

    /**
     * Control plane: ends the client's connection; its requests that have not run yet (those waiting
     * at a closed gate included) fail with ESHUTDOWN, never reaching handles that were closed.
     */
    public void disconnect(String why) {
        revoked = why;
        disconnect.accept(why);
    }

    /**
     * Before the first request: requests that wait at the export's closed gate add their wait to
     * {@code m}. Set by the connection before it starts its request threads, which see it.
     */
    public void meter(RequestMeter m) {
        this.meter = m;
    }

    boolean holdsConnectionSlot() {
        return holdsConnectionSlot;
    }

    /** Data plane: runs one request. */
    public void run(Body body) throws IOException, InterruptedException {
        RequestMeter m = meter;
        long waited = export.enterGate(m != null);
        if (waited > 0) {
            m.parked(waited);
        }
        try {
            if (revoked != null) {
                throw new NbdException(NbdError.ESHUTDOWN, revoked);
            }
            if (export.state() != ExportState.RUNNING) {
                throw new NbdException(NbdError.ESHUTDOWN, "export '" + export.name() + "' is "
                        + export.state().name().toLowerCase() + (export.message() == null ? "" : ": " + export.message()));
            }
            ThreadModel model = export.chain() == null ? ThreadModel.PARALLEL : export.chain().threadModel();
            ReentrantLock lock = switch (model) {
                case SERIALIZE_CONNECTIONS, SERIALIZE_ALL_REQUESTS -> export.serializeAllRequests();
                case SERIALIZE_REQUESTS -> serializeRequests;
                case PARALLEL -> null;
            };
            if (lock == null) {
                body.run(top);
                return;
            }
            lock.lockInterruptibly();
            try {
                body.run(top);
            } finally {
                lock.unlock();
            }
        } finally {
            export.gate().exit();
        }
    }

    /** Closes this client's handles on the export. */
    @Override
    public void close() {
        export.detach(this);
    }
}
