package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;

/** {@code bundle:start}; a bundle installed from the console is started again after a restart. */
final class BundleStart extends Command {
    private final Bundles bundles;
    private final InstalledBundles installed;

    BundleStart(Bundles bundles, InstalledBundles installed) {
        super("bundle", "start", "start bundles", "BUNDLE...\n  BUNDLE: an id or a symbolic name");
        this.bundles = bundles;
        this.installed = installed;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        bundles.all(args).forEach(b -> {
            Bundles.act("start", "started", Bundle::start, b, out);
            installed.started(b.getLocation(), true);
        });
        return null;
    }
}
