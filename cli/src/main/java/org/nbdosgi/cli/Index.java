package org.nbdosgi.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What the server knows about its plugins and filters without running one: names, descriptions,
 * parameters (the same {@code Parameter} declarations the engine enforces), help and README text,
 * and the facts {@code --dump-plugin} prints. The build writes it to {@code lib/index.properties} by
 * asking the real engine in a real framework, so it cannot drift from the bundles; the launcher
 * reads it to answer {@code --help}, {@code --version} and {@code --dump-plugin} without starting
 * the framework, and the engine builds the same records from live services for a bundle the file
 * does not know (one in {@code deploy/}).
 */
public final class Index {
    public enum Kind {
        PLUGIN, FILTER;

        String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A {@code key=value} parameter as declared; a repeatable one keeps every value given. */
    public record Param(String name, String help, boolean required, boolean repeatable, List<String> aliases) {
        public Param {
            aliases = List.copyOf(aliases);
        }
    }

    /**
     * One plugin or filter.
     *
     * @param magic   the parameter a bare value stands for (plugins), or null
     * @param version the bundle's version, major.minor.micro
     * @param path    the bundle jar, relative to the installation when it is inside it
     * @param readme  the bundle's README.md (its manual), or ""
     * @param facts   nbdkit's {@code --dump-plugin} lines this server can vouch for ({@code thread_model}, {@code has_*})
     */
    public record Entry(Kind kind, String name, String description, List<Param> params, String magic, String help,
                        String version, String path, String readme, Map<String, String> facts) {
        public Entry {
            params = List.copyOf(params);
            facts = java.util.Collections.unmodifiableMap(new TreeMap<>(facts));
            help = help == null ? "" : help;
            readme = readme == null ? "" : readme;
        }
    }

    /** The index file's name in the installation's {@code lib/}. */
    public static final String FILE = "index.properties";

    private final Map<String, Entry> plugins = new TreeMap<>();
    private final Map<String, Entry> filters = new TreeMap<>();

    public void add(Entry e) {
        (e.kind() == Kind.PLUGIN ? plugins : filters).put(e.name(), e);
    }

    public Entry plugin(String name) {
        return plugins.get(name);
    }

    public Entry filter(String name) {
        return filters.get(name);
    }

    public Collection<Entry> plugins() {
        return plugins.values();
    }

    public Collection<Entry> filters() {
        return filters.values();
    }

    // ---- the file --------------------------------------------------------------------------

    public static Index load(Path file) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        }
        Index index = new Index();
        for (String key : p.stringPropertyNames()) {
            String[] k = key.split("\\.", 3);
            if (k.length == 3 && k[2].equals("description") && (k[0].equals("plugin") || k[0].equals("filter"))) {
                index.add(entry(p, k[0].equals("plugin") ? Kind.PLUGIN : Kind.FILTER, k[1]));
            }
        }
        return index;
    }

    private static Entry entry(Properties p, Kind kind, String name) {
        String prefix = kind.key() + "." + name + ".";
        List<Param> params = new ArrayList<>();
        for (String param : list(p.getProperty(prefix + "params"))) {
            String pp = prefix + "param." + param + ".";
            params.add(new Param(param, p.getProperty(pp + "help", ""), Boolean.parseBoolean(p.getProperty(pp + "required")),
                    Boolean.parseBoolean(p.getProperty(pp + "repeatable")), list(p.getProperty(pp + "aliases"))));
        }
        Map<String, String> facts = new LinkedHashMap<>();
        String factPrefix = prefix + "fact.";
        p.stringPropertyNames().stream().filter(k -> k.startsWith(factPrefix)).sorted()
                .forEach(k -> facts.put(k.substring(factPrefix.length()), p.getProperty(k)));
        return new Entry(kind, name, p.getProperty(prefix + "description"), params, p.getProperty(prefix + "magic"),
                p.getProperty(prefix + "help", ""), p.getProperty(prefix + "version", ""), p.getProperty(prefix + "path", ""),
                p.getProperty(prefix + "readme", ""), facts);
    }

    private static List<String> list(String s) {
        return s == null || s.isBlank() ? List.of() : List.of(s.split(","));
    }

    /** Writes the index sorted and without a timestamp, so the same bundles give the same file. */
    public void store(Path file) throws IOException {
        Properties p = new Properties();                  // stored sorted by key (Java 18+)
        for (Entry e : List.copyOf(all())) {
            String prefix = e.kind().key() + "." + e.name() + ".";
            p.setProperty(prefix + "description", e.description());
            put(p, prefix + "magic", e.magic());
            put(p, prefix + "help", e.help());
            put(p, prefix + "version", e.version());
            put(p, prefix + "path", e.path());
            put(p, prefix + "readme", e.readme());
            p.setProperty(prefix + "params", String.join(",", e.params().stream().map(Param::name).toList()));
            for (Param param : e.params()) {
                String pp = prefix + "param." + param.name() + ".";
                p.setProperty(pp + "help", param.help() == null ? "" : param.help());
                p.setProperty(pp + "required", Boolean.toString(param.required()));
                p.setProperty(pp + "repeatable", Boolean.toString(param.repeatable()));
                p.setProperty(pp + "aliases", String.join(",", param.aliases()));
            }
            e.facts().forEach((k, v) -> p.setProperty(prefix + "fact." + k, v));
        }
        StringWriter w = new StringWriter();
        try {
            p.store(w, "nbd-osgi plugins and filters, written by the build from the bundles' declarations");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Properties.store adds a date line after the comment: drop it
        List<String> lines = new ArrayList<>(w.toString().lines().toList());
        lines.remove(1);
        Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.ISO_8859_1);
    }

    private static void put(Properties p, String key, String value) {
        if (value != null && !value.isEmpty()) {
            p.setProperty(key, value);
        }
    }

    private List<Entry> all() {
        List<Entry> all = new ArrayList<>(plugins.values());
        all.addAll(filters.values());
        return all;
    }
}
