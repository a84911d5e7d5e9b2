package org.nbdosgi.plugin.vddk;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.ThreadModel;
import org.nbdosgi.plugin.vddk.VddkStats.Call;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * One vddk export: the settings, the shared library, the statistics. Control plane, except
 * {@link #open}, which runs when a client connects: every connection gets its own VDDK connection
 * and handle (ConnectEx + Open, under the process-wide lock) and its own {@link HandleWorker}.
 */
final class VddkInstance implements PluginInstance {
    private static final Logger LOG = LoggerFactory.getLogger(VddkInstance.class);
    private static final Logger REPORT = LoggerFactory.getLogger("nbd.report.vddk");

    private final String export;
    private final VddkSettings settings;
    private final VddkRuntime runtime;
    private final VixDiskLib lib;
    private final VddkStats stats;
    private final boolean extents;
    private final Lock partialWrites = new ReentrantLock();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** An open VDDK connection and handle, before a worker owns it. */
    private record Opened(ConnectParams params, Pointer connection, Pointer handle) {
    }

    /**
     * Creates the disk if asked, then opens it once (read-only, on this thread) to check that it
     * can be served (GetInfo included) and to probe QueryAllocatedBlocks, so a bad file fails the
     * export at start. The probe's calls count in the statistics like any other.
     */
    VddkInstance(String export, VddkSettings settings, VddkRuntime runtime, VixDiskLib lib, VddkStats stats)
            throws ConfigException {
        this.export = export;
        this.settings = settings;
        this.runtime = runtime;
        this.lib = lib;
        this.stats = stats;
        try {
            if (settings.create() != null) {
                create();
            }
            Opened probe = connect(true);
            try {
                this.extents = probeExtents(probe.handle(), capacity(probe.handle()));
            } finally {
                disconnect(probe);
            }
        } catch (VddkException e) {
            throw new ConfigException("file: " + settings.file() + ": " + e.getMessage(), e);
        }
        LOG.debug("vddk export '{}': {} from {}, extents {}", export, settings.file(), lib.path(),
                extents ? "from QueryAllocatedBlocks" : "not available");
    }

    private void create() throws VddkException, ConfigException {
        if (!lib.hasCreate()) {
            throw new ConfigException("create: this VDDK has no VixDiskLib_Create");
        }
        Opened local = connect(false, false);
        long start = System.nanoTime();
        long err = lib.create(local.connection(), settings.file(), settings.create());
        stats.record(Call.Create, start, 0, err != VixDiskLib.VIX_OK);
        disconnect(local);
        if (err != VixDiskLib.VIX_OK) {
            throw new VddkException("Create", err, lib.errorText(err));
        }
    }

    /** GetInfo: the disk's capacity in sectors. Only on a thread that alone uses {@code handle}. */
    private long capacity(Pointer handle) throws VddkException {
        long start = System.nanoTime();
        long c = lib.capacity(handle);
        stats.record(Call.GetInfo, start, 0, c < 0);
        if (c < 0) {
            throw new VddkException("GetInfo", -c, lib.errorText(-c));
        }
        return c;
    }

    /** QueryAllocatedBlocks once over the first chunk, its complaints silenced: a failure means no extents. */
    private boolean probeExtents(Pointer handle, long capacity) {
        if (!lib.hasQueryAllocatedBlocks() || capacity < AllocatedBlocks.CHUNK) {
            return false;
        }
        long start = System.nanoTime();
        boolean answered = false;
        try {
            lib.quietly(() -> lib.queryAllocatedBlocks(handle, 0, AllocatedBlocks.CHUNK, AllocatedBlocks.CHUNK));
            answered = true;
            return true;
        } catch (VddkException e) {
            LOG.debug("vddk export '{}': no extents: the QueryAllocatedBlocks probe failed: {}", export, e.getMessage());
            return false;
        } finally {
            stats.record(Call.QueryAllocatedBlocks, start, 0, !answered);
        }
    }

    @Override
    public ThreadModel threadModel() {
        return ThreadModel.PARALLEL;
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        boolean readOnly = client.readOnly();
        Opened o = connect(readOnly);
        HandleWorker worker = new HandleWorker(lib, o.handle(), stats,
                "vddk-" + (export.isEmpty() ? "default" : export) + "-" + client.connectionId());
        Runnable closeVddk = () -> disconnect(o);
        try {
            long capacity = worker.call((l, h) -> capacity(h));
            int holeType = settings.singleLink() ? Extents.HOLE : Extents.HOLE | Extents.ZERO;
            LOG.debug("vddk export '{}': connection {} opened {} ({} sectors, transport {})", export,
                    client.connectionId(), settings.file(), capacity, lib.transportMode(o.handle()));
            return new VddkHandle(worker, capacity, !readOnly, lib.hasFlush(), extents, holeType, partialWrites,
                    stats, closeVddk);
        } catch (IOException | RuntimeException e) {
            try {
                worker.stop();
            } finally {
                closeVddk.run();
            }
            throw e;
        }
    }

    private Opened connect(boolean readOnly) throws VddkException {
        return connect(readOnly, true);
    }

    /** ConnectEx and (if {@code open}) Open, under the process-wide lock; on failure nothing stays open. */
    private Opened connect(boolean readOnly, boolean open) throws VddkException {
        ConnectParams params = new ConnectParams(lib, settings);
        runtime.openCloseLock().lock();
        try {
            PointerByReference conn = new PointerByReference();
            long start = System.nanoTime();
            long err = lib.connectEx(params.pointer(), readOnly, settings.snapshot(), settings.transports(), conn);
            stats.record(Call.ConnectEx, start, 0, err != VixDiskLib.VIX_OK);
            if (err != VixDiskLib.VIX_OK) {
                throw new VddkException("ConnectEx", err, lib.errorText(err));
            }
            if (!open) {
                return new Opened(params, conn.getValue(), null);
            }
            PointerByReference handle = new PointerByReference();
            start = System.nanoTime();
            err = lib.open(conn.getValue(), settings.file(), settings.openFlags(readOnly), handle);
            stats.record(Call.Open, start, 0, err != VixDiskLib.VIX_OK);
            if (err != VixDiskLib.VIX_OK) {
                lib.disconnect(conn.getValue());
                throw new VddkException("Open", err, lib.errorText(err));
            }
            return new Opened(params, conn.getValue(), handle.getValue());
        } catch (VddkException | RuntimeException e) {
            params.close();
            throw e;
        } finally {
            runtime.openCloseLock().unlock();
        }
    }

    /** Close and Disconnect under the process-wide lock. No other thread uses the handle any more. */
    private void disconnect(Opened o) {
        runtime.openCloseLock().lock();
        try {
            if (o.handle() != null) {
                long start = System.nanoTime();
                long err = lib.close(o.handle());
                stats.record(Call.Close, start, 0, err != VixDiskLib.VIX_OK);
                if (err != VixDiskLib.VIX_OK) {
                    LOG.warn("vddk export '{}': VixDiskLib_Close: {}", export, lib.errorText(err));
                }
            }
            long start = System.nanoTime();
            long err = lib.disconnect(o.connection());
            stats.record(Call.Disconnect, start, 0, err != VixDiskLib.VIX_OK);
            if (err != VixDiskLib.VIX_OK) {
                LOG.warn("vddk export '{}': VixDiskLib_Disconnect: {}", export, lib.errorText(err));
            }
        } finally {
            runtime.openCloseLock().unlock();
            o.params().close();
        }
    }

    VddkStats stats() {
        return stats;
    }

    /**
     * How long each VDDK function takes and how often it fails ({@code nbd_vddk_request_seconds{op="read_async"}},
     * {@code nbd_vddk_request_errors_total}): the figures of {@code nbd:vddk-stats}, for Prometheus and JMX. Any thread.
     */
    @Override
    public void metrics(MetricSink sink) {
        stats.report(sink);
    }

    /** Export stop: the statistics if asked for, then VDDK is released (Exit when this was the last export). */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        runtime.unregister(export, stats);
        if (settings.stats()) {
            REPORT.info("VDDK function statistics for export '{}':\n{}", export, stats.table().stripTrailing());
        }
        runtime.release(lib);
    }
}
