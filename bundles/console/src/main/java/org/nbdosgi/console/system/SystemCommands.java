package org.nbdosgi.console.system;

import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.console.Command;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/** {@code shell:info} and {@code system:shutdown}, as Karaf names them. Control plane. */
@Component(immediate = true)
public final class SystemCommands {
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext ctx) {
        for (Command c : List.of(new ShellInfo(ctx), new SystemShutdown(ctx))) {
            registrations.add(c.register(ctx));
        }
    }

    @Deactivate
    void deactivate() {
        Command.unregister(registrations);
    }
}
