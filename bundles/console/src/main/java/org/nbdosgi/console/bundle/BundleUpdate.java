package org.nbdosgi.console.bundle;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;

/** {@code bundle:update}: exports using the bundle's plugin or filter drain, hand their state over and resume. */
final class BundleUpdate extends Command {
    private final Bundles bundles;
    private final InstalledBundles installed;

    BundleUpdate(Bundles bundles, InstalledBundles installed) {
        super("bundle", "update", "update a bundle from where it was installed, or from LOCATION; "
                        + "exports using its plugin or filter drain, hand their state over and resume",
                "BUNDLE [LOCATION]\n  BUNDLE: an id or a symbolic name (bundle:list -s lists both)");
        this.bundles = bundles;
        this.installed = installed;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noOptions(args);
        if (args.isEmpty() || args.size() > 2) {
            throw new Failure("usage: bundle:update BUNDLE [LOCATION]");
        }
        Bundle b = bundles.one(args.get(0));
        String before = Bundles.describe(b);
        try {
            if (args.size() == 2) {
                String from = Bundles.location(args.get(1));
                try (InputStream in = URI.create(from).toURL().openStream()) {
                    b.update(in);
                }
                installed.updated(b.getLocation(), from);
            } else {
                b.update();
            }
        } catch (BundleException | IllegalStateException | SecurityException | IOException e) {
            throw new Failure("update " + before + ": " + e.getMessage());
        }
        String now = b.getVersion().toString();
        out.println("bundle " + before + " updated" + (before.endsWith(" " + now + ")") ? "" : " to " + now));
        return null;
    }
}
