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
     * Closes {@code handle}, a handle this layer returned, together with everything opened below it
     * for the same client, and opens the layer again for that client: what a filter that retries
     * after a failure does to get a fresh connection to a remote server (nbdkit's retry filter
     * reopens its plugin the same way). The engine closes the new handle as it would have closed the
     * old one. Data plane; the caller makes sure no request uses {@code handle} any more (a retrying
     * filter holds a lock while it reopens) and answers the capabilities it promised whatever the new
     * handle says. The default refuses with ENOTSUP.
     */
    default Handle reopen(Handle handle) throws IOException {
        throw new NbdException(NbdError.ENOTSUP, "this layer cannot reopen its handles");
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
