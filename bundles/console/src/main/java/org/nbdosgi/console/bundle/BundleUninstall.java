package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;

/** {@code bundle:uninstall}; a bundle installed from the console is forgotten. */
final class BundleUninstall extends Command {
    private final Bundles bundles;
    private final InstalledBundles installed;

    BundleUninstall(Bundles bundles, InstalledBundles installed) {
        super("bundle", "uninstall", "uninstall bundles; exports using their plugins or filters park",
                "BUNDLE...\n  BUNDLE: an id or a symbolic name");
        this.bundles = bundles;
        this.installed = installed;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        bundles.all(args).forEach(b -> {
            String location = b.getLocation();
            Bundles.act("uninstall", "uninstalled", Bundle::uninstall, b, out);
            installed.remove(location);
        });
        return null;
    }
}
