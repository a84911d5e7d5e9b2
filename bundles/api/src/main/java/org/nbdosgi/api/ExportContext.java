package org.nbdosgi.api;

import java.util.Optional;

/**
 * What an instance learns about the export it is created for: the export's name, whether the whole
 * export is read-only ({@code -r}), and, when it replaces a predecessor of the same layer during a
 * hot swap, the state that predecessor handed over (see {@link PluginInstance#handOver()}).
 */
public record ExportContext(String exportName, boolean readOnly, Optional<Object> inheritedState) {
    public ExportContext(String exportName, boolean readOnly) {
        this(exportName, readOnly, Optional.empty());
    }

    public ExportContext {
        java.util.Objects.requireNonNull(exportName, "exportName");
        java.util.Objects.requireNonNull(inheritedState, "inheritedState");
    }
}
