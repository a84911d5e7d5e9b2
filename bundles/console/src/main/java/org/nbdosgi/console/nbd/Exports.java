package org.nbdosgi.console.nbd;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.console.Command;

/**
 * What the {@code nbd:} commands share: the engine, the plugins and filters deployed now, and how
 * a change is made (the engine's rewire, refused with its reason as the failure) and kept (the
 * export's file in {@code etc/}, {@link ExportFiles}). Control plane.
 */
final class Exports {
    private final ServerAdmin admin;
    private final List<Plugin> plugins;
    private final List<Filter> filters;
    private final ExportFiles files;

    /** {@code plugins} and {@code filters} are live lists (the component's dynamic references). */
    Exports(ServerAdmin admin, List<Plugin> plugins, List<Filter> filters, ExportFiles files) {
        this.admin = admin;
        this.plugins = plugins;
        this.filters = filters;
        this.files = files;
    }

    ServerAdmin admin() {
        return admin;
    }

    List<Plugin> plugins() {
        return plugins;
    }

    List<Filter> filters() {
        return filters;
    }

    ExportFiles files() {
        return files;
    }

    Plugin plugin(String name) {
        return plugins.stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
    }

    Filter filter(String name) {
        return filters.stream().filter(f -> f.name().equals(name)).findFirst().orElse(null);
    }

    ExportInfo export(String name) {
        ExportInfo e = admin.export(name);
        if (e == null) {
            throw new Command.Failure("no export named " + Command.quoted(name));
        }
        return e;
    }

    /** The one argument, an export name (or another word, as {@code what} says). */
    static String one(List<String> args, String what) {
        Command.noMoreOptions(args);
        if (args.size() != 1) {
            throw new Command.Failure("expected " + what);
        }
        return exportName(args.get(0));
    }

    /** {@code ""} typed literally names the default export. */
    static String exportName(String word) {
        return word.equals("\"\"") ? "" : word;
    }

    interface Change<T> {
        T run() throws ConfigException;
    }

    /** A change the engine may refuse: its reason is the command's failure. */
    static <T> T change(Change<T> c) {
        try {
            return c.run();
        } catch (ConfigException e) {
            throw new Command.Failure(e.getMessage());
        }
    }

    /** Rewires a live export to {@code next}, writes its file and says so. */
    void rewire(ExportInfo e, ExportSpec next, boolean force, PrintStream out) throws IOException {
        ExportInfo done = change(() -> admin.rewire(e.name(), next, force));
        save(done.spec(), null);
        out.println("export " + Command.quoted(e.name()) + " rewired: " + chainText(done.spec()));
    }

    /** Writes the export's file; {@code catchAll} null keeps what the file says. */
    void save(ExportSpec spec, Boolean catchAll) throws IOException {
        Plugin plugin = plugin(spec.plugin());
        files.write(spec, plugin == null ? "value" : plugin.magicParameter(), catchAll, declared(spec));
    }

    /** The export in command-line syntax, secrets (by name, or declared by its layers) as ***. */
    String chainText(ExportSpec spec) {
        return spec.describe(declared(spec)) + (spec.readOnly() ? " (read-only)" : "");
    }

    /** The parameters the layers of {@code spec} declare, as deployed now: which ones are secrets. */
    List<Parameter> declared(ExportSpec spec) {
        List<Parameter> out = new ArrayList<>();
        Plugin plugin = plugin(spec.plugin());
        if (plugin != null) {
            out.addAll(plugin.parameters());
        }
        filters.stream().filter(f -> spec.filters().contains(f.name())).forEach(f -> out.addAll(f.parameters()));
        return out;
    }

    static String state(ExportInfo e) {
        return e.state().name().toLowerCase() + (e.message() == null ? "" : " (" + e.message() + ")");
    }

    /** Parameters as key=value words, secrets as ***. */
    static String paramsText(Map<String, String> params) {
        List<String> out = new ArrayList<>();
        params.forEach((k, v) -> out.add(k + "=" + (ExportSpec.isSecret(k) ? "***" : v)));
        return String.join(" ", out);
    }
}
