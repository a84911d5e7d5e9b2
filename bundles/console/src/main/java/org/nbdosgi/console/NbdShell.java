package org.nbdosgi.console;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.felix.service.command.Function;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ConnectionInfo;
import org.nbdosgi.api.Peer;
import org.nbdosgi.api.ExportInfo;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.LayerInfo;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.ServerAdmin;
import org.nbdosgi.api.Units;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@code nbd:} commands of the Gogo shell (and of {@code nbd-osgi-client}): what is deployed,
 * what is served, and live changes to exports. Changes go through the engine's rewire (drained,
 * clients stay connected, refused when a client's promise would break) and are written back to
 * {@code etc/}. Control plane.
 */
@Component(immediate = true)
public final class NbdShell {

    @Reference
    private ServerAdmin admin;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<Plugin> plugins = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<Filter> filters = new CopyOnWriteArrayList<>();

    private final List<ServiceRegistration<Function>> registrations = new ArrayList<>();
    private ExportFiles files;

    @Activate
    void activate(BundleContext context) {
        String etc = context.getProperty("nbd.etc");
        files = new ExportFiles(etc == null ? null : Path.of(etc));
        for (Command c : commands()) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("osgi.command.scope", "nbd");
            props.put("osgi.command.function", c.name());
            registrations.add(context.registerService(Function.class, c, props));
        }
    }

    @Deactivate
    void deactivate() {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    List<Command> commands() {
        return List.of(
                command("plugins", "list the plugins (storage back ends) deployed now", "", (Body) this::plugins),
                command("filters", "list the filters deployed now", "", (Body) this::filters),
                command("exports", "list the exports: state, size, clients, thread model, chain",
                        "\n  SIZE is the default export's; '-' when the export serves only names a client asks for"
                                + " (file dir=); a parked or failed export says why",
                        (Body) this::exports),
                command("connections", "list the client connections",
                        "\n  IN-FLIGHT: requests being served now; READ, WRITTEN: payload bytes"
                                + "\n  TLS, CIPHER: the TLS version and cipher suite (- without TLS)"
                                + "\n  IDENTITY: psk:NAME, or the certificate's subject:DN (anonymous: TLS without credentials)",
                        (Body) this::connections),
                command("chain", "show an export's layers, their parameters, thread model and clients", "NAME",
                        (Body) this::chain),
                command("export-add", "create an export (nbdkit syntax), written to etc/",
                        "[--readonly] NAME [--filter=FILTER]... PLUGIN [[key=]value]...", (Body) this::exportAdd),
                command("export-remove", "remove an export; its clients get ESHUTDOWN and are disconnected", "NAME",
                        (Body) this::exportRemove),
                command("filter-insert", "insert a filter into a live export",
                        "[--position N] [--force] NAME FILTER [key=value]...\n"
                                + "  N counts from the outside: 0 (the default) puts it outermost", (Body) this::filterInsert),
                command("filter-remove", "remove a filter (and its parameters) from a live export",
                        "[--force] NAME FILTER", (Body) this::filterRemove),
                command("export-set", "change parameters of a live export's layers", "[--force] NAME key=value...\n"
                        + "  --force disconnects clients the change would break (a new size, a lost capability)",
                        (Body) this::exportSet),
                command("names", "the names of the exports, plugins or filters (for completion and scripts)",
                        "exports|plugins|filters", (Command.Body) this::names));
    }

    private interface Body {
        void run(List<String> args, PrintStream out) throws Exception;
    }

    private static Command command(String name, String summary, String usage, Body body) {
        return command(name, summary, usage, (List<String> args, PrintStream out) -> {
            body.run(args, out);
            return null;
        });
    }

    private static Command command(String name, String summary, String usage, Command.Body body) {
        return Command.of(name, "nbd:" + name, summary, usage, body);
    }

    // ---- views -------------------------------------------------------------------------------

    private void plugins(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
        Table t = new Table("NAME", "DESCRIPTION");
        plugins.stream().sorted(Comparator.comparing(Plugin::name)).forEach(p -> t.row(p.name(), p.description()));
        out.print(t);
    }

    private void filters(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
        Table t = new Table("NAME", "DESCRIPTION");
        filters.stream().sorted(Comparator.comparing(Filter::name)).forEach(f -> t.row(f.name(), f.description()));
        out.print(t);
    }

    private void exports(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
        Table t = new Table("NAME", "STATE", "SIZE", "CLIENTS", "THREADS", "CHAIN");
        for (ExportInfo e : admin.exports()) {
            t.row(Command.quoted(e.name()), e.state().name().toLowerCase() + (e.message() == null ? "" : " (" + e.message() + ")"),
                    e.size() < 0 ? "-" : Units.formatSize(e.size()), e.clients(),
                    e.threadModel() == null ? "-" : e.threadModel().displayName(), chainText(e.spec()));
        }
        out.print(t);
    }

    private static String chainText(ExportSpec spec) {
        return spec.describe() + (spec.readOnly() ? " (read-only)" : "");
    }

    private void connections(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
        Table t = new Table("ID", "CLIENT", "EXPORT", "ASKED-FOR", "AGE", "IN-FLIGHT", "REQUESTS", "READ", "WRITTEN",
                "TLS", "CIPHER", "IDENTITY");
        Instant now = Instant.now();
        for (ConnectionInfo c : admin.connections()) {
            Peer p = c.peer();
            t.row(c.id(), c.clientAddress(), c.export() == null ? "(negotiating)" : Command.quoted(c.export()),
                    c.requestedName() == null ? "-" : Command.quoted(c.requestedName()),
                    Duration.between(c.since(), now).toSeconds() + "s", c.inFlight(), c.requests(), c.bytesRead(), c.bytesWritten(),
                    p.tlsVersion() == null ? "-" : p.tlsVersion(), p.tlsCipher() == null ? "-" : p.tlsCipher(),
                    p.tlsIdentity() != null ? p.tlsIdentity() : p.tlsVersion() != null ? "anonymous" : "-");
        }
        out.print(t);
    }

    private void chain(List<String> args, PrintStream out) {
        ExportInfo e = export(one(args, "NAME"));
        out.println("export " + Command.quoted(e.name()) + ": " + e.state().name().toLowerCase()
                + (e.message() == null ? "" : " (" + e.message() + ")")
                + (e.size() < 0 ? "" : ", " + Units.formatSize(e.size()))
                + (e.threadModel() == null ? "" : ", thread model " + e.threadModel().displayName())
                + (e.spec().readOnly() ? ", read-only" : ""));
        Table layers = new Table("LAYER", "KIND", "NAME", "THREADS", "PARAMETERS");
        int i = 0;
        for (LayerInfo l : e.layers()) {
            layers.row(i++, l.filter() ? "filter" : "plugin", l.name(), l.threadModel().displayName(), paramsText(l.params()));
        }
        out.print(layers);
        Table clients = new Table("CLIENT", "ADDRESS", "ASKED-FOR", "IN-FLIGHT", "REQUESTS");
        admin.connections().stream().filter(c -> e.name().equals(c.export())).forEach(c -> clients.row(c.id(),
                c.clientAddress(), Command.quoted(c.requestedName()), c.inFlight(), c.requests()));
        out.print(clients);
    }

    private static String paramsText(Map<String, String> params) {
        List<String> out = new ArrayList<>();
        params.forEach((k, v) -> out.add(k + "=" + (ExportSpec.isSecret(k) ? "***" : v)));
        return String.join(" ", out);
    }

    private List<String> names(List<String> args, PrintStream out) {
        return switch (one(args, "exports|plugins|filters")) {
            case "exports" -> admin.exports().stream().map(e -> Command.quoted(e.name())).sorted().toList();
            case "plugins" -> plugins.stream().map(Plugin::name).sorted().toList();
            case "filters" -> filters.stream().map(Filter::name).sorted().toList();
            default -> throw new Command.Failure("names of exports, plugins or filters");
        };
    }

    // ---- changes -----------------------------------------------------------------------------

    private void exportAdd(List<String> args, PrintStream out) throws Exception {
        boolean readOnly = Command.flag(args, "--readonly") | Command.flag(args, "-r");
        Command.noMoreOptions(args);
        if (args.size() < 2) {
            throw new Command.Failure("usage: nbd:export-add [--readonly] NAME [--filter=FILTER]... PLUGIN [[key=]value]...");
        }
        ExportSpec spec = parse(exportName(args.get(0)), readOnly, args.subList(1, args.size()));
        ExportInfo added = change(() -> admin.addExport(spec));
        save(added.spec());
        out.println("export " + Command.quoted(spec.name()) + " started: " + chainText(added.spec()));
    }

    private void exportRemove(List<String> args, PrintStream out) throws Exception {
        String name = one(args, "NAME");
        export(name);
        change(() -> {
            admin.removeExport(name);
            return null;
        });
        files.delete(name);
        out.println("export " + Command.quoted(name) + " removed");
    }

    private void filterInsert(List<String> args, PrintStream out) throws Exception {
        String position = Command.option(args, "--position");
        boolean force = Command.flag(args, "--force");
        Command.noMoreOptions(args);
        if (args.size() < 2) {
            throw new Command.Failure("usage: nbd:filter-insert [--position N] [--force] NAME FILTER [key=value]...");
        }
        ExportInfo e = export(exportName(args.get(0)));
        int at;
        try {
            at = position == null ? 0 : Integer.parseInt(position);
        } catch (NumberFormatException x) {
            throw new Command.Failure("--position: '" + position + "' is not a number");
        }
        ExportSpec next = Specs.insertFilter(e.spec(), args.get(1), at, Specs.params(args.subList(2, args.size())));
        rewire(e, next, force, out);
    }

    private void filterRemove(List<String> args, PrintStream out) throws Exception {
        boolean force = Command.flag(args, "--force");
        Command.noMoreOptions(args);
        if (args.size() != 2) {
            throw new Command.Failure("usage: nbd:filter-remove [--force] NAME FILTER");
        }
        ExportInfo e = export(exportName(args.get(0)));
        Filter f = filters.stream().filter(x -> x.name().equals(args.get(1))).findFirst().orElse(null);
        ExportSpec next = Specs.removeFilter(e.spec(), args.get(1), f == null ? List.of() : f.parameters());
        rewire(e, next, force, out);
    }

    private void exportSet(List<String> args, PrintStream out) throws Exception {
        boolean force = Command.flag(args, "--force");
        Command.noMoreOptions(args);
        if (args.size() < 2) {
            throw new Command.Failure("usage: nbd:export-set [--force] NAME key=value...");
        }
        ExportInfo e = export(exportName(args.get(0)));
        Plugin plugin = plugins.stream().filter(p -> p.name().equals(e.spec().plugin())).findFirst().orElse(null);
        ExportSpec next = Specs.setParams(e.spec(), Specs.params(args.subList(1, args.size())),
                plugin == null ? null : plugin.magicParameter());
        rewire(e, next, force, out);
    }

    private void rewire(ExportInfo e, ExportSpec next, boolean force, PrintStream out) throws Exception {
        ExportInfo done = change(() -> admin.rewire(e.name(), next, force));
        save(done.spec());
        out.println("export " + Command.quoted(e.name()) + " rewired: " + chainText(done.spec()));
    }

    private interface Change<T> {
        T run() throws ConfigException;
    }

    private static <T> T change(Change<T> c) {
        try {
            return c.run();
        } catch (ConfigException e) {
            throw new Command.Failure(e.getMessage());
        }
    }

    private void save(ExportSpec spec) throws java.io.IOException {
        Plugin plugin = plugins.stream().filter(p -> p.name().equals(spec.plugin())).findFirst().orElse(null);
        files.write(spec, plugin == null ? "value" : plugin.magicParameter());
    }

    private static ExportSpec parse(String name, boolean readOnly, List<String> words) {
        try {
            return ExportSpec.parse(name, readOnly, words);
        } catch (ConfigException e) {
            throw new Command.Failure(e.getMessage());
        }
    }

    private ExportInfo export(String name) {
        ExportInfo e = admin.export(name);
        if (e == null) {
            throw new Command.Failure("no export named " + Command.quoted(name));
        }
        return e;
    }

    private static String one(List<String> args, String what) {
        Command.noMoreOptions(args);
        if (args.size() != 1) {
            throw new Command.Failure("expected " + what);
        }
        return exportName(args.get(0));
    }

    /** {@code ""} typed literally names the default export. */
    private static String exportName(String word) {
        return word.equals("\"\"") ? "" : word;
    }
}
