package org.nbdosgi.api.admin;

import java.util.List;

import org.nbdosgi.api.ThreadModel;

/**
 * A snapshot of one export for consoles and tools.
 *
 * @param size    bytes of the default export (known once the export runs), or -1 when its chain
 *                serves only names a client asks for (file dir=)
 * @param message why the export is parked or failed, or why its last change was refused; null if none
 * @param clients connections currently attached
 * @param layers  the running layers, outermost filter first (empty when it has no chain)
 */
public record ExportInfo(ExportSpec spec, ExportState state, String message, long size,
                         ThreadModel threadModel, int clients, List<LayerInfo> layers) {
    public ExportInfo {
        layers = List.copyOf(layers);
    }

    public String name() {
        return spec.name();
    }
}
