package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;

/** {@code bundle:stop}; a bundle installed from the console stays stopped after a restart. */
final class BundleStop extends Command {
    private final Bundles bundles;
    private final InstalledBundles installed;

    BundleStop(Bundles bundles, InstalledBundles installed) {
        super("bundle", "stop", "stop bundles; exports using their plugins or filters park until a provider returns",
                "BUNDLE...\n  BUNDLE: an id or a symbolic name");
        this.bundles = bundles;
        this.installed = installed;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        bundles.all(args).forEach(b -> {
            Bundles.act("stop", "stopped", Bundle::stop, b, out);
            installed.started(b.getLocation(), false);
        });
        return null;
    }
}
