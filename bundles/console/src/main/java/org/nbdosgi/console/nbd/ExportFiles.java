package org.nbdosgi.console.nbd;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;

import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collection;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.admin.ExportSpec;

/**
 * Writes the console's changes back to {@code etc/} as the {@code org.nbdosgi.export-NAME.cfg}
 * files FileInstall reads, so they survive a restart (FileInstall turns the file into the same
 * export, which the engine recognises as already running). Without an etc directory (the command
 * line's private instance) changes are live only. Control plane.
 */
final class ExportFiles {
    static final String PREFIX = "org.nbdosgi.export-";
    /** The key of an export that also serves unknown names (read by the engine's ConfiguredExport). */
    private static final String CATCH_ALL = "catchall";
    private final Path etc;

    ExportFiles(Path etc) {
        this.etc = etc;
    }

    boolean enabled() {
        return etc != null && Files.isDirectory(etc);
    }

    /** The file that holds export {@code name}: the existing one, or a new one named after it. */
    Path fileOf(String name) throws IOException {
        try (Stream<Path> files = Files.list(etc)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith(PREFIX)
                    && p.getFileName().toString().endsWith(".cfg")).toList()) {
                if (name.equals(nameIn(f))) {
                    return f;
                }
            }
        }
        String base = name.isEmpty() ? "default" : name.replaceAll("[^A-Za-z0-9_.-]", "_");
        return etc.resolve(PREFIX + base + ".cfg");
    }

    private static Properties load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        return p;
    }

    private static String nameIn(Path file) throws IOException {
        String n = load(file).getProperty("name");
        if (n != null) {
            return n.trim();
        }
        String f = file.getFileName().toString();
        return f.substring(PREFIX.length(), f.length() - ".cfg".length());
    }

    /**
     * Writes the export's file; {@code magic} names the plugin's bare-value parameter;
     * {@code catchAll} says whether it serves unknown names, or null to keep what the file says.
     * The parameters are written as the user gave them: a secret given as {@code +FILE} stays that
     * reference. A file that holds a secret parameter ({@code declared} by the export's layers, or
     * named like one) is created 0600 and renamed into place, so it is never readable by others.
     */
    void write(ExportSpec spec, String magic, Boolean catchAll, Collection<Parameter> declared) throws IOException {
        if (!enabled()) {
            return;
        }
        Path file = fileOf(spec.name());
        if (catchAll == null) {
            catchAll = Files.exists(file) && Boolean.parseBoolean(load(file).getProperty(CATCH_ALL, "false").trim());
        }
        StringBuilder b = new StringBuilder("# nbd-osgi export, written by the console\n");
        line(b, "name", spec.name());
        line(b, "plugin", spec.plugin());
        if (!spec.filters().isEmpty()) {
            line(b, "filters", String.join(",", spec.filters()));
        }
        if (spec.readOnly()) {
            line(b, "readonly", "true");
        }
        if (catchAll) {
            line(b, CATCH_ALL, "true");
        }
        for (Map.Entry<String, String> p : spec.params().entrySet()) {
            line(b, p.getKey().equals(ExportSpec.MAGIC_KEY) ? magic : p.getKey(), p.getValue());
        }
        if (Files.exists(file)) {
            // what the console does not change stays: the export's TLS allow-list (tls.allow)
            Properties old = load(file);
            for (String k : old.stringPropertyNames().stream().filter(k -> k.startsWith("tls.")).sorted().toList()) {
                line(b, k, old.getProperty(k));
            }
        }
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        boolean secret = spec.params().keySet().stream()
                .anyMatch(k -> ExportSpec.isSecret(k.equals(ExportSpec.MAGIC_KEY) ? magic : k, declared));
        if (secret) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(tmp, b);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    void delete(String name) throws IOException {
        if (enabled()) {
            Files.deleteIfExists(fileOf(name));
        }
    }

    private static void line(StringBuilder b, String key, String value) {
        // a repeated parameter's values are joined by newlines: escaped, so the file keeps them as one value
        b.append(key).append(" = ").append(value.replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
    }
}
