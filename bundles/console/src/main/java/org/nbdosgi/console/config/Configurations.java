package org.nbdosgi.console.config;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.Set;
import java.util.TreeMap;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.console.Command;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Configurations as the console edits them: opened from ConfigurationAdmin, changed in a copy,
 * then given back to ConfigurationAdmin and written to their file in {@code etc/} (the one
 * FileInstall read them from, or a new {@code PID.cfg} / {@code FACTORY-NAME.cfg}), so a change
 * survives a restart. Without an etc directory (the command line's private instance) changes are
 * live only. Control plane.
 */
public final class Configurations {
    /** The session variable holding the edit in progress. */
    static final String EDITING = ".nbd.config.edit";
    private static final String FILE = "felix.fileinstall.filename";
    private static final Set<String> NOT_IN_FILE = Set.of("service.pid", "service.factoryPid", FILE, "service.bundleLocation");

    private final ConfigurationAdmin admin;
    private final Path etc;

    public Configurations(ConfigurationAdmin admin, Path etc) {
        this.admin = admin;
        this.etc = etc;
    }

    /** A configuration being edited: its PID and the properties it will have. */
    public record Edit(String pid, Configuration configuration, TreeMap<String, Object> properties) {
    }

    /** The configuration as it is now, to edit; FACTORY~NAME names one of a factory's. */
    public Edit open(String pid) throws IOException {
        int tilde = pid.indexOf('~');
        if (pid.isBlank() || tilde == 0 || tilde == pid.length() - 1) {
            throw new Command.Failure("'" + pid + "' is not a PID (FACTORY~NAME for a factory configuration)");
        }
        Configuration c = tilde < 0 ? admin.getConfiguration(pid, "?")
                : admin.getFactoryConfiguration(pid.substring(0, tilde), pid.substring(tilde + 1), "?");
        return new Edit(c.getPid(), c, properties(c.getProperties()));
    }

    /** The edit in progress in this session. */
    static Edit editing(CommandSession s) {
        if (s.get(EDITING) instanceof Edit e) {
            return e;
        }
        throw new Command.Failure("no configuration is being edited: config:edit PID first (or give -p PID)");
    }

    /** Gives ConfigurationAdmin the edited properties and writes them to the configuration's file; returns the file. */
    public Path apply(Edit e) throws IOException {
        Hashtable<String, Object> props = new Hashtable<>(e.properties());
        Path file = file(e, e.configuration().getProperties());
        if (file != null) {
            props.put(FILE, file.toUri().toString());
            write(file, e.properties());
        }
        e.configuration().update(props);
        return file;
    }

    /** {@link #apply}, saying so. */
    void apply(Edit e, PrintStream out) throws IOException {
        Path file = apply(e);
        out.println(e.pid() + " updated" + (file == null ? "" : " (" + file + ")"));
    }

    /** Where the configuration lives: the file FileInstall read it from, or a new one in etc/. */
    private Path file(Edit e, Dictionary<String, Object> now) {
        Object from = now == null ? null : now.get(FILE);
        if (from != null) {
            String f = from.toString();
            return f.startsWith("file:") ? Path.of(URI.create(f)) : Path.of(f);
        }
        if (etc == null || !Files.isDirectory(etc)) {
            return null;
        }
        String factory = e.configuration().getFactoryPid();
        int tilde = e.pid().indexOf('~');
        String name = factory != null && tilde > 0 ? factory + "-" + e.pid().substring(tilde + 1) : e.pid();
        return etc.resolve(name.replaceAll("[^A-Za-z0-9_.~-]", "_") + ".cfg");
    }

    private static void write(Path file, TreeMap<String, Object> properties) throws IOException {
        StringBuilder b = new StringBuilder("# written by the nbd-osgi console\n");
        properties.forEach((k, v) -> {
            if (!NOT_IN_FILE.contains(k)) {
                b.append(k).append(" = ").append(String.valueOf(v).replace("\\", "\\\\")).append('\n');
            }
        });
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    static TreeMap<String, Object> properties(Dictionary<String, Object> d) {
        TreeMap<String, Object> out = new TreeMap<>();
        if (d != null) {
            for (String k : Collections.list(d.keys())) {
                out.put(k, d.get(k));
            }
        }
        return out;
    }

    /** Properties one a line; secret values ({@code password}, ...) as ***. */
    static void print(TreeMap<String, Object> properties, PrintStream out) {
        properties.forEach((k, v) -> out.println("   " + k + " = "
                + (ExportSpec.isSecret(k) ? "***" : v instanceof Object[] a ? Arrays.toString(a) : String.valueOf(v))));
    }
}
