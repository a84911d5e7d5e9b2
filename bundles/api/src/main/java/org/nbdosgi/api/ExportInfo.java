package org.nbdosgi.api;

/**
 * A snapshot of one export for consoles and tools.
 *
 * @param size    bytes, or -1 when no client has opened it yet and the size is not known
 * @param message why the export is parked or failed, or null
 * @param clients connections currently attached
 */
public record ExportInfo(ExportSpec spec, ExportState state, String message, long size,
                         ThreadModel threadModel, int clients) {
    public String name() {
        return spec.name();
    }
}
