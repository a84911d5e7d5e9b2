package org.nbdosgi.api;

import java.io.IOException;
import java.util.List;

/**
 * A filter's state for one export. {@link #open} runs when a client connects and usually wraps the
 * handle of the layer below: {@code return new MyHandle(next.open(client));}.
 */
public interface FilterInstance extends AutoCloseable {

    /** The most concurrency this filter accepts; the export runs at the most restrictive of all layers. */
    default ThreadModel threadModel() {
        return ThreadModel.PARALLEL;
    }

    /** Export names for NBD_OPT_LIST; null (the default) passes the layer below's list through. */
    default List<ExportEntry> listExports(boolean readOnly) throws IOException {
        return null;
    }

    /** The canonical name for ""; null (the default) asks the layer below. */
    default String defaultExport() throws IOException {
        return null;
    }

    /**
     * The meta contexts this filter's handles answer besides {@link Extents#BASE_ALLOCATION}; null (the
     * default) passes the layer below's through ({@link Layer#metaContexts()}). A filter that adds a
     * context returns the layer below's and its own; one that changes the address space (a file inside
     * a filesystem image) returns only what it answers itself.
     */
    default List<String> metaContexts() {
        return null;
    }

    /** Opens this filter's handle for one connection, normally over {@code next.open(client)}. */
    Handle open(ClientContext client) throws IOException;

    /**
     * What the filter says about itself right now, one line each, shown by {@code nbd:chain} under the
     * layer (the cbt filter lists its bitmaps); empty by default. Control plane.
     */
    default List<String> status() {
        return List.of();
    }

    /**
     * Called before {@link #close()} when a change removes this filter from an export that goes on
     * without it: from then on requests reach the layers below without passing here. A filter whose
     * state describes those requests (a dirty bitmap) marks that state as no longer complete. Control
     * plane.
     */
    default void removed() {
    }

    /** As {@link PluginInstance#handOver()}. */
    default Object handOver() {
        return null;
    }

    /** As {@link PluginInstance#metrics}: this filter's own metrics, optional. */
    default void metrics(MetricSink sink) {
    }

    /** Releases what the export held. Handles this filter opened on the layer below are closed by the engine afterwards. */
    @Override
    default void close() throws IOException {
    }
}
