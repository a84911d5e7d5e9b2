package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/** {@code bundle:install}: remembered, so the bundles are installed again after a restart. */
final class BundleInstall extends Command {
    private final BundleContext context;
    private final InstalledBundles installed;

    BundleInstall(BundleContext context, InstalledBundles installed) {
        super("bundle", "install", "install bundles from jar files or URLs; they are installed again after a restart",
                "[-s|--start] LOCATION...\n  LOCATION: an absolute path or a URL; -s, --start: start them too");
        this.context = context;
        this.installed = installed;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        boolean start = flag(args, "-s") | flag(args, "--start");
        noOptions(args);
        if (args.isEmpty()) {
            throw new Failure("install needs a LOCATION (see install --help)");
        }
        List<String> locations = args.stream().map(Bundles::location).toList();
        for (String location : locations) {
            Bundle b;
            try {
                b = context.installBundle(location);
            } catch (BundleException | SecurityException e) {
                throw new Failure("install " + location + ": " + e.getMessage());
            }
            out.println("bundle " + Bundles.describe(b) + " installed");
            installed.add(location, start);
            if (start) {
                Bundles.act("start", "started", Bundle::start, b, out);
            }
        }
        return null;
    }
}
