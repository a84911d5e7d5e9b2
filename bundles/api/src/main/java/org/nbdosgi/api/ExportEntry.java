package org.nbdosgi.api;

/** One name a layer can serve, with an optional human-readable description (may be null). */
public record ExportEntry(String name, String description) {
    public ExportEntry {
        java.util.Objects.requireNonNull(name, "name");
    }
}
