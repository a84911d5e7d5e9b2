package org.nbdosgi.console;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.ConnectionInfo;
import org.nbdosgi.api.ExportInfo;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.ServerAdmin;
import org.nbdosgi.api.Units;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * The {@code nbd:} commands of the Gogo shell: what is deployed and what is being served.
 * Control plane (read-only views here). Every command takes {@code --help}.
 */
@Component(service = NbdCommands.class, property = {
        "osgi.command.scope=nbd",
        "osgi.command.function=plugins",
        "osgi.command.function=filters",
        "osgi.command.function=exports",
        "osgi.command.function=connections"})
public final class NbdCommands {

    @Reference
    private ServerAdmin admin;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<Plugin> plugins = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<Filter> filters = new CopyOnWriteArrayList<>();

    private static PrintStream out() {
        return System.out;                      // Gogo routes it to the calling session
    }

    public void plugins(String... args) {
        Options o = new Options(args);
        if (o.help()) {
            out().println("nbd:plugins - list the plugins (storage back ends) deployed now\nusage: nbd:plugins");
            return;
        }
        Table t = new Table("NAME", "DESCRIPTION");
        plugins.stream().sorted(Comparator.comparing(Plugin::name)).forEach(p -> t.row(p.name(), p.description()));
        out().print(t);
    }

    public void filters(String... args) {
        Options o = new Options(args);
        if (o.help()) {
            out().println("nbd:filters - list the filters deployed now\nusage: nbd:filters");
            return;
        }
        Table t = new Table("NAME", "DESCRIPTION");
        filters.stream().sorted(Comparator.comparing(Filter::name)).forEach(f -> t.row(f.name(), f.description()));
        out().print(t);
    }

    public void exports(String... args) {
        Options o = new Options(args);
        if (o.help()) {
            out().println("""
                    nbd:exports - list the exports: state, size, clients, thread model and chain
                    usage: nbd:exports
                      SIZE is '-' until a client has opened the export; STATE parked or failed comes with the reason.""");
            return;
        }
        Table t = new Table("NAME", "STATE", "SIZE", "CLIENTS", "THREADS", "CHAIN");
        for (ExportInfo e : admin.exports()) {
            String chain = String.join(" ", e.spec().toArgs()) + (e.spec().readOnly() ? " (read-only)" : "");
            t.row(quoted(e.name()), e.state().name().toLowerCase() + (e.message() == null ? "" : " (" + e.message() + ")"),
                    e.size() < 0 ? "-" : Units.formatSize(e.size()), e.clients(),
                    e.threadModel() == null ? "-" : e.threadModel().displayName(), chain);
        }
        out().print(t);
    }

    public void connections(String... args) {
        Options o = new Options(args);
        if (o.help()) {
            out().println("""
                    nbd:connections - list the client connections
                    usage: nbd:connections
                      IN-FLIGHT counts requests being served right now; READ and WRITTEN are payload bytes.""");
            return;
        }
        Table t = new Table("ID", "CLIENT", "EXPORT", "ASKED-FOR", "AGE", "IN-FLIGHT", "REQUESTS", "READ", "WRITTEN");
        Instant now = Instant.now();
        for (ConnectionInfo c : admin.connections()) {
            t.row(c.id(), c.clientAddress(), c.export() == null ? "(negotiating)" : quoted(c.export()),
                    c.requestedName() == null ? "-" : quoted(c.requestedName()),
                    Duration.between(c.since(), now).toSeconds() + "s", c.inFlight(), c.requests(),
                    c.bytesRead(), c.bytesWritten());
        }
        out().print(t);
    }

    private static String quoted(String name) {
        return name.isEmpty() ? "\"\"" : name;
    }
}
