package org.nbdosgi.api;

import java.io.IOException;
import java.util.List;

/**
 * A plugin's state for one export, from export start to export stop: what all connections share.
 * Control plane, except {@link #open}, {@link #listExports} and {@link #defaultExport}, which also
 * run when a client connects. The engine opens the default export once when the export starts (and
 * closes it at once), to know its size.
 */
public interface PluginInstance extends AutoCloseable {

    /** The most concurrency this instance accepts. */
    default ThreadModel threadModel() {
        return ThreadModel.PARALLEL;
    }

    /**
     * The export names this instance can serve, for NBD_OPT_LIST; empty (the default) when it serves
     * just one thing, whatever the client calls it.
     */
    default List<ExportEntry> listExports(boolean readOnly) throws IOException {
        return List.of();
    }

    /**
     * The canonical name of the export a client gets when it asks for "": the engine opens that
     * name instead, and reports it as the export's name (NBD_INFO_NAME).
     */
    default String defaultExport() throws IOException {
        return "";
    }

    /**
     * The meta contexts this plugin's handles answer besides {@link Extents#BASE_ALLOCATION}, by
     * {@link Handle#extents(String, long, long, int, Extents)}; none by default. Asked when a client
     * negotiates (NBD_OPT_LIST_META_CONTEXT, NBD_OPT_SET_META_CONTEXT), so the list may change while
     * the export runs.
     */
    default List<String> metaContexts() {
        return List.of();
    }

    /**
     * Opens the handle for one connection. Throw {@link NbdException} to refuse the client (for
     * example an export name that does not exist); other clients are unaffected.
     */
    Handle open(ClientContext client) throws IOException;

    /** As {@link FilterInstance#status()}. */
    default List<String> status() {
        return List.of();
    }

    /**
     * Called before a hot swap closes this instance: returns the state a successor of the same
     * plugin should adopt (it arrives as {@link ExportContext#inheritedState()}), or null when
     * nothing needs to survive. After this call the instance is closed without further requests.
     * The object must be built from JDK or api types only: the successor's classes are not ours.
     */
    default Object handOver() {
        return null;
    }

    /**
     * Reports this instance's own metrics (optional): upstream latency, cache hits, whatever a user
     * watching the export would want. Called on a reader's thread at any time while the instance
     * lives, concurrently with requests; it reads counters and never waits. See {@link MetricSink}.
     */
    default void metrics(MetricSink sink) {
    }

    /** Releases what the export held. */
    @Override
    default void close() throws IOException {
    }
}
