package org.nbdosgi.api;

import java.io.IOException;
import java.util.List;

/**
 * The part of an export's chain below a filter, as that filter sees it. Implemented by the engine;
 * every handle it returns already has the engine's emulation of zero, FUA and cache and its bounds
 * checks in front of the real layer, and offers what is emulated as {@link Support#NATIVE}.
 */
public interface Layer {

    /**
     * Opens a handle on the layer below. The engine closes it: with the connection when
     * {@link ClientContext#connectionId()} names one (the normal case, from {@link FilterInstance#open}),
     * or when the filter instance closes for a shared handle opened with connection id 0
     * (for state the filter keeps for the whole export, such as a filesystem).
     */
    Handle open(ClientContext client) throws IOException;

    /**
     * Closes {@code handle} (one this layer opened for {@code client}) together with the handles
     * the layers below opened under it, and opens the layer below again in its place for the same
     * client: nbdkit's {@code next->reopen}, for a filter that recovers from a failure by starting
     * the layers below afresh (the retry filter). The engine closes the new handle with the
     * connection, after the handles above it, as it would have closed the old one.
     *
     * <p>Data plane: runs on the calling request's thread and may take as long as opening does. The
     * caller makes sure that no operation is running on {@code handle} and uses only the returned
     * handle afterwards; the new handle's capabilities may differ (check what matters). If opening
     * fails, the old handle stays closed and may be passed to {@code reopen} again.
     *
     * @throws UnsupportedOperationException where the layer cannot be reopened
     * @throws IllegalArgumentException when {@code handle} is not open on this layer for {@code client}
     */
    default Handle reopen(Handle handle, ClientContext client) throws IOException {
        throw new UnsupportedOperationException("this layer cannot be reopened");
    }

    /** The export names the layer below lists. */
    List<ExportEntry> listExports(boolean readOnly) throws IOException;

    /** The layer below's canonical name for "". */
    String defaultExport() throws IOException;

    /**
     * The meta contexts the layer below answers besides {@link Extents#BASE_ALLOCATION}, which
     * every layer answers (for example {@code qemu:dirty-bitmap:backup}); empty by default.
     */
    default List<String> metaContexts() {
        return List.of();
    }
}
