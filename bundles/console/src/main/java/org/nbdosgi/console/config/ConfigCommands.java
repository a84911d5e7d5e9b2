package org.nbdosgi.console.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.console.Command;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
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
 * it to its file in {@code etc/} ({@link Configurations}), or {@code config:cancel} drops it.
 * {@code -p PID} on property-set/property-delete edits and updates in one go (for one-shot
 * clients). Factory configurations are named {@code FACTORY~NAME}, as FileInstall names
 * {@code etc/FACTORY-NAME.cfg}. Secret values ({@code password}, ...) print as ***. Control plane.
 */
@Component(immediate = true)
public final class ConfigCommands {
    @Reference
    private ConfigurationAdmin admin;

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext ctx) {
        String etc = ctx.getProperty("nbd.etc");
        Configurations configurations = new Configurations(admin, etc == null ? null : Path.of(etc));
        for (Command c : List.of(new ConfigList(admin), new ConfigEdit(configurations), new ConfigPropertySet(configurations),
                new ConfigPropertyDelete(configurations), new ConfigPropertyList(configurations), new ConfigUpdate(configurations),
                new ConfigCancel())) {
            registrations.add(c.register(ctx));
        }
    }

    @Deactivate
    void deactivate() {
        Command.unregister(registrations);
    }
}
