package org.nbdosgi.console.bundle;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.nbdosgi.console.Command;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The bundle commands, under Karaf's names ({@code bundle:list}, {@code bundle:install},
 * {@code bundle:update}, {@code bundle:start}, {@code bundle:stop}, {@code bundle:uninstall},
 * {@code bundle:refresh}) and Felix's ({@code lb}, {@code install}, ...). Unlike Felix
 * gogo.command's, which print an error and succeed, these answer {@code --help} and fail (exit
 * status 1 from {@code nbd-osgi-client}). Bundles installed here are remembered
 * ({@link InstalledBundles}) and installed again at the next start, which happens here.
 *
 * <p>Felix's names are registered in gogo.command's own scope, {@code felix}, above its commands
 * (Gogo runs the highest ranked of one {@code scope:name}), so {@code lb} and {@code felix:lb} are
 * these commands too. Control plane.
 */
@Component(immediate = true)
public final class BundleCommands {
    /** gogo.command's scope. */
    public static final String FELIX = "felix";
    /** Above gogo.command's commands (no ranking, so 0). */
    public static final int ABOVE_GOGO_COMMAND = 100;
    /** Felix's names where they differ from Karaf's. */
    private static final Map<String, String> FELIX_NAMES = Map.of("list", "lb");

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Activate
    void activate(BundleContext ctx) {
        InstalledBundles installed = InstalledBundles.of(ctx);
        installed.restore(ctx);
        Bundles bundles = new Bundles(ctx);
        for (Command c : List.of(new BundleList(ctx), new BundleInstall(ctx, installed), new BundleUpdate(bundles, installed),
                new BundleStart(bundles, installed), new BundleStop(bundles, installed), new BundleUninstall(bundles, installed),
                new BundleRefresh(bundles))) {
            registrations.add(c.register(ctx));
            registrations.add(c.register(ctx, FELIX, FELIX_NAMES.getOrDefault(c.name(), c.name()), ABOVE_GOGO_COMMAND));
        }
    }

    @Deactivate
    void deactivate() {
        Command.unregister(registrations);
    }
}
