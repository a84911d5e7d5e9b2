package org.nbdosgi.console;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Function;
import org.nbdosgi.api.ExportSpec;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * Karaf's {@code config:} commands over ConfigurationAdmin: {@code list}, {@code edit},
 * {@code property-set}, {@code property-delete}, {@code property-list}, {@code update},
 * {@code cancel}. An edit is kept in the session until {@code config:update} applies it (through
 * ConfigurationAdmin, so an export's configuration rewires it as an edited file does) and writes
 * it to its file in {@code etc/} (so it survives a restart), or {@code config:cancel} drops it.
 * {@code -p PID} on property-set/property-delete edits and updates in one go (for one-shot
 * clients). Factory configurations are named {@code FACTORY~NAME}, as FileInstall names
 * {@code etc/FACTORY-NAME.cfg}. Secret values ({@code password}, ...) print as ***. Control plane.
 */
@Component(immediate = true)
public final class ConfigCommands {
    /** The session variable holding the edit in progress. */
    static final String EDIT = ".nbd.config.edit";
    private static final String FILE = "felix.fileinstall.filename";
    private static final Set<String> NOT_IN_FILE = Set.of("service.pid", "service.factoryPid", FILE, "service.bundleLocation");

    @Reference
    private ConfigurationAdmin admin;

    private final List<ServiceRegistration<Function>> registrations = new ArrayList<>();
    private Path etc;

    /** A configuration being edited: its PID and the properties it will have. */
    private record Edit(String pid, Configuration configuration, TreeMap<String, Object> properties) {
    }

    @Activate
    void activate(BundleContext ctx) {
        String dir = ctx.getProperty("nbd.etc");
        etc = dir == null ? null : Path.of(dir);
        for (Command c : List.of(
                command("list", "list the configurations, or those whose PID contains TEXT or that match an LDAP FILTER",
                        "[TEXT|FILTER]", (s, a, o) -> list(a, o)),
                command("edit", "start editing a configuration (FACTORY~NAME for one of a factory's); "
                        + "config:update applies it, config:cancel drops it", "PID\n  e.g. config:edit org.nbdosgi.export~disk",
                        this::edit),
                command("property-set", "set a property of the configuration being edited (or of PID, applied at once)",
                        "[-p PID] KEY VALUE", this::propertySet),
                command("property-delete", "delete a property of the configuration being edited (or of PID, applied at once)",
                        "[-p PID] KEY", this::propertyDelete),
                command("property-list", "list the properties of the configuration being edited (or of PID)", "[-p PID]",
                        this::propertyList),
                command("update", "apply the edit: ConfigurationAdmin gets it (an export rewires) and its etc/ file is written",
                        "", this::update),
                command("cancel", "drop the edit in progress", "", (s, a, o) -> {
                    Command.noMoreOptions(a);
                    Edit e = (Edit) s.get(EDIT);
                    s.put(EDIT, null);
                    o.println(e == null ? "nothing was being edited" : "edit of " + e.pid() + " dropped");
                    return null;
                }))) {
            registrations.add(Command.register(ctx, "config", c.name(), c, null));
        }
    }

    @Deactivate
    void deactivate() {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    private static Command command(String name, String summary, String usage, Command.SessionBody body) {
        return Command.of(name, "config:" + name, summary, usage, body);
    }

    private Object list(List<String> args, PrintStream out) throws IOException {
        Command.noMoreOptions(args);
        if (args.size() > 1) {
            throw new Command.Failure("usage: config:list [TEXT|FILTER]");
        }
        String query = args.isEmpty() ? null : args.get(0);
        Configuration[] all;
        try {
            all = admin.listConfigurations(query != null && query.startsWith("(") ? query : null);
        } catch (InvalidSyntaxException e) {
            throw new Command.Failure("not an LDAP filter: " + query + " (" + e.getMessage() + ")");
        }
        List<Configuration> shown = new ArrayList<>(all == null ? List.of() : Arrays.asList(all));
        if (query != null && !query.startsWith("(")) {
            shown.removeIf(c -> !c.getPid().contains(query));
        }
        shown.sort(Comparator.comparing(Configuration::getPid));
        for (Configuration c : shown) {
            out.println("----------------------------------------------------------------");
            out.println("Pid:            " + c.getPid());
            if (c.getFactoryPid() != null) {
                out.println("FactoryPid:     " + c.getFactoryPid());
            }
            out.println("BundleLocation: " + c.getBundleLocation());
            out.println("Properties:");
            print(properties(c.getProperties()), out);
        }
        return null;
    }

    private Object edit(CommandSession s, List<String> args, PrintStream out) throws IOException {
        Command.noMoreOptions(args);
        if (args.size() != 1) {
            throw new Command.Failure("usage: config:edit PID (FACTORY~NAME for a factory configuration)");
        }
        Edit e = open(args.get(0));
        s.put(EDIT, e);
        out.println("editing " + e.pid() + (e.properties().isEmpty() ? " (new)" : "")
                + ": config:property-set, config:property-delete, then config:update (or config:cancel)");
        return null;
    }

    private Object propertySet(CommandSession s, List<String> args, PrintStream out) throws IOException {
        String pid = Command.option(args, "-p");
        Command.noMoreOptions(args);
        if (args.size() != 2) {
            throw new Command.Failure("usage: config:property-set [-p PID] KEY VALUE");
        }
        Edit e = pid == null ? editing(s) : open(pid);
        e.properties().put(args.get(0), args.get(1));
        if (pid != null) {
            apply(e, out);
        }
        return null;
    }

    private Object propertyDelete(CommandSession s, List<String> args, PrintStream out) throws IOException {
        String pid = Command.option(args, "-p");
        Command.noMoreOptions(args);
        if (args.size() != 1) {
            throw new Command.Failure("usage: config:property-delete [-p PID] KEY");
        }
        Edit e = pid == null ? editing(s) : open(pid);
        if (e.properties().remove(args.get(0)) == null) {
            throw new Command.Failure(e.pid() + " has no property " + args.get(0));
        }
        if (pid != null) {
            apply(e, out);
        }
        return null;
    }

    private Object propertyList(CommandSession s, List<String> args, PrintStream out) throws IOException {
        String pid = Command.option(args, "-p");
        Command.noMoreOptions(args);
        Edit e = pid == null ? editing(s) : open(pid);
        print(e.properties(), out);
        return null;
    }

    private Object update(CommandSession s, List<String> args, PrintStream out) throws IOException {
        Command.noMoreOptions(args);
        apply(editing(s), out);
        s.put(EDIT, null);
        return null;
    }

    private static Edit editing(CommandSession s) {
        if (s.get(EDIT) instanceof Edit e) {
            return e;
        }
        throw new Command.Failure("no configuration is being edited: config:edit PID first (or give -p PID)");
    }

    /** The configuration as it is now, to edit; FACTORY~NAME names one of a factory's. */
    private Edit open(String pid) throws IOException {
        int tilde = pid.indexOf('~');
        if (pid.isBlank() || tilde == 0 || tilde == pid.length() - 1) {
            throw new Command.Failure("'" + pid + "' is not a PID (FACTORY~NAME for a factory configuration)");
        }
        Configuration c = tilde < 0 ? admin.getConfiguration(pid, "?")
                : admin.getFactoryConfiguration(pid.substring(0, tilde), pid.substring(tilde + 1), "?");
        return new Edit(c.getPid(), c, properties(c.getProperties()));
    }

    /** Gives ConfigurationAdmin the edited properties and writes them to the configuration's file. */
    private void apply(Edit e, PrintStream out) throws IOException {
        Hashtable<String, Object> props = new Hashtable<>(e.properties());
        Dictionary<String, Object> now = e.configuration().getProperties();
        Path file = file(e, now);
        if (file != null) {
            props.put(FILE, file.toUri().toString());
            write(file, e.properties());
        }
        e.configuration().update(props);
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
        StringBuilder b = new StringBuilder("# written by the nbd-osgi console (config:update)\n");
        properties.forEach((k, v) -> {
            if (!NOT_IN_FILE.contains(k)) {
                b.append(k).append(" = ").append(String.valueOf(v).replace("\\", "\\\\")).append('\n');
            }
        });
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static TreeMap<String, Object> properties(Dictionary<String, Object> d) {
        TreeMap<String, Object> out = new TreeMap<>();
        if (d != null) {
            for (String k : Collections.list(d.keys())) {
                out.put(k, d.get(k));
            }
        }
        return out;
    }

    private static void print(TreeMap<String, Object> properties, PrintStream out) {
        properties.forEach((k, v) -> out.println("   " + k + " = "
                + (ExportSpec.isSecret(k) ? "***" : v instanceof Object[] a ? Arrays.toString(a) : String.valueOf(v))));
    }
}
