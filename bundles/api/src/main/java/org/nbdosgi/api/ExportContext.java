package org.nbdosgi.api;

import java.nio.file.Path;
import java.util.Optional;

/**
 * What an instance learns about the export it is created for: the export's name, whether the whole
 * export is read-only ({@code -r}), when it replaces a predecessor of the same layer during a hot
 * swap or a rewire, the state that predecessor handed over (see {@link PluginInstance#handOver()}),
 * and where the export may keep state across restarts.
 *
 * @param stateDirectory a directory for this export's layers to keep state in across restarts of the
 *                       server (in container mode {@code etc/state/export-NAME/}, beside the export's
 *                       configuration; removed with the export), which may not exist yet; empty where
 *                       the server keeps none (the command line). A layer uses a subdirectory named after
 *                       itself.
 */
public record ExportContext(String exportName, boolean readOnly, Optional<Object> inheritedState,
                            Optional<Path> stateDirectory) {
    public ExportContext(String exportName, boolean readOnly) {
        this(exportName, readOnly, Optional.empty(), Optional.empty());
    }

    public ExportContext(String exportName, boolean readOnly, Optional<Object> inheritedState) {
        this(exportName, readOnly, inheritedState, Optional.empty());
    }

    public ExportContext {
        java.util.Objects.requireNonNull(exportName, "exportName");
        java.util.Objects.requireNonNull(inheritedState, "inheritedState");
        java.util.Objects.requireNonNull(stateDirectory, "stateDirectory");
    }
}
