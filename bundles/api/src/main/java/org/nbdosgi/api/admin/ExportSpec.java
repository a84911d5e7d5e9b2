package org.nbdosgi.api.admin;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/**
 * What an export is made of, as a user writes it: a name, filters (outermost first, as
 * {@code --filter=} options appear on the command line), a plugin, its parameters and read-only.
 * A bare value (nbdkit's magic parameter, {@code memory 1G}) is kept under the key
 * {@link #MAGIC_KEY} until the engine knows which parameter the plugin calls magic.
 */
public record ExportSpec(String name, String plugin, List<String> filters, Map<String, String> params, boolean readOnly) {
    /** The key under which a bare value waits for the plugin's magic parameter name. */
    public static final String MAGIC_KEY = "";

    public ExportSpec {
        java.util.Objects.requireNonNull(name, "name");
        java.util.Objects.requireNonNull(plugin, "plugin");
        filters = List.copyOf(filters);
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
    }

    /**
     * Parses nbdkit's syntax: {@code [--filter=F]... PLUGIN [[key=]value]...}; {@code --filter F}
     * (two words) works too. Only the first parameter may omit {@code key=}. A key given twice keeps
     * its last value.
     */
    public static ExportSpec parse(String name, boolean readOnly, List<String> args) throws ConfigException {
        List<String> filters = new ArrayList<>();
        String plugin = null;
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (plugin == null) {
                if (a.startsWith("--filter=")) {
                    filters.add(requireName(a.substring("--filter=".length()), "filter"));
                } else if (a.equals("--filter")) {
                    if (i + 1 >= args.size()) {
                        throw new ConfigException("--filter needs a filter name");
                    }
                    filters.add(requireName(args.get(++i), "filter"));
                } else if (a.startsWith("-")) {
                    throw new ConfigException("unknown option '" + a + "' before the plugin name");
                } else {
                    plugin = requireName(a, "plugin");
                }
                continue;
            }
            int eq = a.indexOf('=');
            // a key is a word: "file=/a=b" is key file; "/a=b" alone is a bare value
            if (eq > 0 && a.substring(0, eq).matches("[A-Za-z0-9_.-]+")) {
                // a key given again joins its values (moved to where it was last given, so that of two
                // names for one parameter the later wins): the engine keeps every value of a
                // repeatable parameter and the last of any other, as nbdkit does
                String key = a.substring(0, eq);
                String before = params.remove(key);
                params.put(key, before == null ? a.substring(eq + 1) : before + Config.REPEAT_SEPARATOR + a.substring(eq + 1));
            } else if (params.isEmpty()) {
                params.put(MAGIC_KEY, a);
            } else {
                throw new ConfigException("'" + a + "': parameters after the first must be key=value");
            }
        }
        if (plugin == null) {
            throw new ConfigException("no plugin given");
        }
        return new ExportSpec(name, plugin, filters, params, readOnly);
    }

    private static String requireName(String s, String what) throws ConfigException {
        if (!s.matches("[A-Za-z0-9_-]+")) {
            throw new ConfigException("'" + s + "' is not a valid " + what + " name");
        }
        return s;
    }

    /** Parameter names whose values are secrets: shown as {@code ***} by {@link #describe()}. */
    private static final java.util.regex.Pattern SECRET = java.util.regex.Pattern.compile("(?i).*(password|passwd|secret|cookie|token).*");

    /** Whether a parameter's value must never be shown or logged, by its name alone. */
    public static boolean isSecret(String key) {
        return SECRET.matcher(key).matches();
    }

    /**
     * Whether {@code key} is a secret: by its name, or because one of {@code declared} (the
     * parameters of the layers it may go to) is a {@link Parameter#secret() secret} of that name.
     */
    public static boolean isSecret(String key, Collection<Parameter> declared) {
        return isSecret(key) || declared.stream().anyMatch(p -> p.secret() && p.matches(key));
    }

    /** The export in command-line syntax for logs and consoles, with values masked by their names. */
    public String describe() {
        return describe(List.of());
    }

    /**
     * The export in command-line syntax for logs and consoles, with the values of secrets masked:
     * by their names, and those {@code declared} secret by the export's layers.
     */
    public String describe(Collection<Parameter> declared) {
        List<String> out = new ArrayList<>();
        filters.forEach(f -> out.add("--filter=" + f));
        out.add(plugin);
        params.forEach((k, v) -> {
            for (String one : v.split(Config.REPEAT_SEPARATOR, -1)) {
                out.add(k.equals(MAGIC_KEY) ? one : k + "=" + (isSecret(k, declared) ? "***" : one));
            }
        });
        return String.join(" ", out);
    }

    /** The same export written back in the command-line syntax {@link #parse} reads. */
    public List<String> toArgs() {
        List<String> out = new ArrayList<>();
        filters.forEach(f -> out.add("--filter=" + f));
        out.add(plugin);
        params.forEach((k, v) -> {
            for (String one : v.split(Config.REPEAT_SEPARATOR, -1)) {
                out.add(k.equals(MAGIC_KEY) ? one : k + "=" + one);
            }
        });
        return out;
    }
}
