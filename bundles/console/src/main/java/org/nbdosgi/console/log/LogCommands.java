package org.nbdosgi.console.log;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.console.Command;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * {@code log:display}, {@code log:tail}, {@code log:set}, {@code log:get}: the recent lines the
 * logging fragment keeps, and logger levels changed while the server runs, kept for the next start
 * where Configuration Admin runs ({@link KeptLevels}). No reference to Configuration Admin here:
 * the command line runs without it, and these commands work there too. Control plane.
 */
@Component(immediate = true)
public final class LogCommands {
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext ctx) {
        String etc = ctx.getProperty("nbd.etc");
        KeptLevels kept = new KeptLevels(ctx, etc == null ? null : Path.of(etc));
        for (Command c : List.of(new LogDisplay(), new LogTail(), new LogSet(kept), new LogGet())) {
            registrations.add(c.register(ctx));
        }
    }

    @Deactivate
    void deactivate() {
        Command.unregister(registrations);
    }
}
