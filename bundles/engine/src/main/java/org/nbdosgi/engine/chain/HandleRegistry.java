package org.nbdosgi.engine.chain;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handles each connection has open on one export, so the engine (not the filters) closes them:
 * all of a connection's handles when it disconnects or the chain is rewired, top layer first. Each
 * handle keeps the handles the layers below opened for the same connection while it opened (a
 * filter's {@code next.open}), and closes them after itself; the connection's list holds the top
 * ones. Handles opened outside a connection (id 0) belong to the filter instance that opened them
 * and close with it.
 */
public final class HandleRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(HandleRegistry.class);

    private final ConcurrentHashMap<Long, List<Boundary>> byConnection = new ConcurrentHashMap<>();
    /** The handle this thread is opening (its connection, and where the handles opened under it go). */
    private final ThreadLocal<Opening> opening = new ThreadLocal<>();

    record Opening(long connectionId, List<Boundary> below) {
    }

    /** Starts collecting the handles of a connection about to open the chain. */
    public void begin(long connectionId) {
        byConnection.put(connectionId, new ArrayList<>());
    }

    /** Marks this thread as opening a handle for {@code connectionId}; returns what to restore after. */
    Opening enter(long connectionId, List<Boundary> below) {
        Opening outer = opening.get();
        opening.set(new Opening(connectionId, below));
        return outer;
    }

    void leave(Opening outer) {
        if (outer == null) {
            opening.remove();
        } else {
            opening.set(outer);
        }
    }

    /**
     * Where a handle just opened for {@code connectionId} is kept: under the handle this thread is
     * opening for the same connection, else in the connection's list; null when the connection is
     * not tracked (the caller then keeps it).
     */
    List<Boundary> homeFor(long connectionId) {
        Opening o = opening.get();
        if (o != null && o.connectionId() == connectionId) {
            return o.below();
        }
        return connectionId == 0 ? null : byConnection.get(connectionId);
    }

    /** Closes every handle of the connection, the last opened (the top layer) first. */
    public void end(long connectionId) {
        List<Boundary> list = byConnection.remove(connectionId);
        if (list != null) {
            closeAll(list);
        }
    }

    static void closeAll(List<Boundary> list) {
        List<Boundary> copy;
        synchronized (list) {
            copy = new ArrayList<>(list);
            list.clear();
        }
        for (int i = copy.size() - 1; i >= 0; i--) {
            try {
                copy.get(i).close();
            } catch (Exception e) {
                LOG.warn("{}: closing a handle failed: {}", copy.get(i).layer(), e.getMessage());
            }
        }
    }
}
