package org.nbdosgi.engine.chain;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handles each connection has open on each layer of one export, so the engine (not the
 * filters) closes them: all of a connection's handles when it disconnects or the chain is rewired,
 * top layer first. Handles opened outside a connection (id 0) belong to the filter instance that
 * opened them and close with it.
 */
public final class HandleRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(HandleRegistry.class);

    private final ConcurrentHashMap<Long, List<Boundary>> byConnection = new ConcurrentHashMap<>();

    /** Starts collecting the handles of a connection about to open the chain. */
    public void begin(long connectionId) {
        byConnection.put(connectionId, new ArrayList<>());
    }

    /** Records a handle; false if the connection is not being tracked (the caller then owns it). */
    boolean add(long connectionId, Boundary handle) {
        List<Boundary> list = byConnection.get(connectionId);
        if (list == null) {
            return false;
        }
        synchronized (list) {
            list.add(handle);
        }
        return true;
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
