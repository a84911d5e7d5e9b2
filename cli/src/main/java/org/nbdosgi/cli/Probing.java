package org.nbdosgi.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The answers to the questions tools ask before they run a server (nbdkit-probing(1)):
 * {@code --version} (with the plugin and filters named), {@code PLUGIN --help},
 * {@code --dump-plugin} and {@code --dump-config}, in nbdkit's formats. The launcher prints them
 * from the {@link Index} file; the engine prints the same from live services.
 */
public final class Probing {
    private Probing() {
    }

    /** Where descriptions come from: the index file, or live services. Null for a name not known. */
    public interface Lookup {
        Index.Entry plugin(String name);

        Index.Entry filter(String name);
    }

    /** A plugin or filter the lookup does not know. */
    public static final class Missing extends Exception {
        private static final long serialVersionUID = 1L;
        private final Index.Kind kind;
        private final String name;

        Missing(Index.Kind kind, String name) {
            super("unknown " + kind.key() + " '" + name + "'");
            this.kind = kind;
            this.name = name;
        }

        public Index.Kind kind() {
            return kind;
        }

        public String name() {
            return name;
        }
    }

    /**
     * The answer to a probing command line ({@link CommandLine#probing()}), with nbdkit's
     * precedence: --dump-config, then --help, then --version, then --dump-plugin.
     *
     * @throws Missing when the plugin or a filter named is not known to {@code lookup}
     */
    public static String answer(CommandLine cl, Lookup lookup, Path home) throws CommandLine.UsageException, Missing {
        if (cl.dumpConfig()) {
            return dumpConfig(home);
        }
        if (cl.plugin() == null && (cl.help() || !cl.version())) {
            if (cl.help()) {
                return CommandLine.usage();
            }
            throw new CommandLine.UsageException("--dump-plugin needs a plugin: nbd-osgi PLUGIN --dump-plugin"
                    + " (--dump-config describes the server)");
        }
        List<Index.Entry> filters = new ArrayList<>();
        for (String f : cl.filters()) {
            Index.Entry e = lookup.filter(f);
            if (e == null) {
                throw new Missing(Index.Kind.FILTER, f);
            }
            filters.add(e);
        }
        Index.Entry plugin = null;
        if (cl.plugin() != null) {
            plugin = lookup.plugin(cl.plugin());
            if (plugin == null) {
                throw new Missing(Index.Kind.PLUGIN, cl.plugin());
            }
        }
        if (cl.help()) {
            return helpText(filters, plugin);
        }
        if (cl.version()) {
            return versionText(filters, plugin);
        }
        return dumpPlugin(plugin, home);
    }

    /** The product version, {@code 0.2.0}: the project's version without a snapshot suffix. */
    public static String version() {
        Properties p = new Properties();
        try (InputStream in = Probing.class.getResourceAsStream("version.properties")) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version").replace("-SNAPSHOT", "");
    }

    /** nbdkit's {@code --version} idiom: the server's line, then one per filter and the plugin. */
    public static String versionText(List<Index.Entry> filters, Index.Entry plugin) {
        StringBuilder b = new StringBuilder("nbd-osgi ").append(version()).append('\n');
        filters.forEach(f -> b.append(f.name()).append(' ').append(f.version()).append('\n'));
        if (plugin != null) {
            b.append(plugin.name()).append(' ').append(plugin.version()).append('\n');
        }
        return b.toString();
    }

    /** {@code [--filter=F]... PLUGIN --help}: each filter's parameters, then the plugin's. */
    public static String helpText(List<Index.Entry> filters, Index.Entry plugin) {
        StringBuilder b = new StringBuilder();
        filters.forEach(f -> describe(b, f));
        describe(b, plugin);
        return b.toString();
    }

    private static void describe(StringBuilder b, Index.Entry e) {
        b.append(e.kind().key()).append(' ').append(e.name()).append(": ").append(e.description()).append('\n');
        for (Index.Param p : e.params()) {
            String key = (p.name().equals(e.magic()) ? "[" + p.name() + "=]" : p.name() + "=") + "...";
            b.append(String.format("  %-28s %s%s%s%s%n", key, p.help(), p.required() ? " (required)" : "",
                    p.repeatable() ? " (repeatable)" : "",
                    p.aliases().isEmpty() ? "" : " (also: " + String.join(", ", p.aliases()) + ")"));
        }
        if (!e.help().isBlank()) {
            b.append(e.help().strip()).append('\n');
        }
        b.append('\n');
    }

    /** {@code PLUGIN --dump-plugin}: nbdkit's keys, as far as they mean something here. */
    public static String dumpPlugin(Index.Entry plugin, Path home) {
        Map<String, String> lines = new LinkedHashMap<>();
        lines.put("path", absolute(home, plugin.path()));
        lines.put("name", plugin.name());
        lines.put("plugin_name", plugin.name());
        lines.put("version", plugin.version());
        lines.put("description", plugin.description());
        if (plugin.magic() != null) {
            lines.put("magic_config_key", plugin.magic());
        }
        lines.putAll(plugin.facts());
        return keyValues(lines);
    }

    /** {@code --dump-config}: nbdkit's keys for this installation. */
    public static String dumpConfig(Path home) {
        String[] v = version().split("\\.");
        Map<String, String> lines = new LinkedHashMap<>();
        lines.put("binary", home.resolve("bin/nbd-osgi").toString());
        lines.put("bindir", home.resolve("bin").toString());
        lines.put("exit_with_parent", "yes");
        lines.put("filterdir", home.resolve("bundles").toString());
        lines.put("host_cpu", hostCpu());
        lines.put("host_os", System.getProperty("os.name").toLowerCase(Locale.ROOT).equals("linux")
                ? "linux-gnu" : System.getProperty("os.name").toLowerCase(Locale.ROOT));
        lines.put("java_home", System.getProperty("java.home"));
        lines.put("java_version", System.getProperty("java.version"));
        lines.put("libdir", home.resolve("lib").toString());
        lines.put("mandir", home.resolve("man").toString());
        lines.put("name", "nbd-osgi");
        lines.put("plugindir", home.resolve("bundles").toString());
        lines.put("deploydir", home.resolve("deploy").toString());
        lines.put("selinux", "no");
        lines.put("sysconfdir", home.resolve("etc").toString());
        lines.put("tls", CommandLine.TLS_SUPPORTED ? "yes" : "no");
        lines.put("version", version());
        lines.put("version_major", v[0]);
        lines.put("version_minor", v.length > 1 ? v[1] : "0");
        lines.put("zstd", "no");
        return keyValues(lines);
    }

    private static String hostCpu() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64" -> "x86_64";
            case "arm64" -> "aarch64";
            default -> arch;
        };
    }

    private static String absolute(Path home, String path) {
        if (path.isEmpty()) {
            return "";
        }
        Path p = Path.of(path);
        return p.isAbsolute() ? path : home.resolve(p).toString();
    }

    private static String keyValues(Map<String, String> lines) {
        List<String> out = new ArrayList<>();
        lines.forEach((k, v) -> out.add(k + "=" + v));
        return String.join("\n", out) + "\n";
    }
}
