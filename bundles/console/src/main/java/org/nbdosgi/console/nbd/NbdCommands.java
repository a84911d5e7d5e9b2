package org.nbdosgi.console.nbd;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.api.admin.ServerMetrics;
import org.nbdosgi.console.Command;
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
 * The {@code nbd:} commands (also through {@code nbd-osgi-client}): what is deployed, what is
 * served, and live changes to exports. Changes go through the engine's rewire (drained, clients
 * stay connected, refused when a client's promise would break) and are written back to
 * {@code etc/}; {@code nbd:top} reads the engine's metrics when it counts. One class per command;
 * a new one is a {@link Command} subclass added to the list below. Control plane.
 */
@Component(immediate = true)
public final class NbdCommands {
    @Reference
    private ServerAdmin admin;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<Plugin> plugins = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private final List<Filter> filters = new CopyOnWriteArrayList<>();

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ServerMetrics metrics;

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext context) {
        String etc = context.getProperty("nbd.etc");
        Exports exports = new Exports(admin, plugins, filters, new ExportFiles(etc == null ? null : Path.of(etc)));
        for (Command c : List.of(new NbdPlugins(exports), new NbdFilters(exports), new NbdExports(exports),
                new NbdConnections(exports), new NbdChain(exports), new NbdExportAdd(exports), new NbdExportRemove(exports),
                new NbdFilterInsert(exports), new NbdFilterRemove(exports), new NbdExportSet(exports), new NbdNames(exports),
                new NbdTop(() -> metrics))) {
            registrations.add(c.register(context));
        }
    }

    @Deactivate
    void deactivate() {
        Command.unregister(registrations);
    }
}
