package org.nbdosgi.console.log;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.console.Command;
import org.nbdosgi.console.config.Configurations;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code log:display}, {@code log:tail}, {@code log:set}, {@code log:get}: the recent lines the
 * logging fragment keeps, and logger levels changed while the server runs and kept for the next
 * start ({@link LogLevels}). Control plane.
 */
@Component(immediate = true)
public final class LogCommands {
    @Reference
    private ConfigurationAdmin admin;

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext ctx) {
        String etc = ctx.getProperty("nbd.etc");
        Configurations configurations = new Configurations(admin, etc == null ? null : Path.of(etc));
        for (Command c : List.of(new LogDisplay(), new LogTail(), new LogSet(configurations), new LogGet())) {
            registrations.add(c.register(ctx));
        }
    }

    @Deactivate
    void deactivate() {
        Command.unregister(registrations);
    }
}
