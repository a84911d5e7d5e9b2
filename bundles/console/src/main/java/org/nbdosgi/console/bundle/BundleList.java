package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.startlevel.BundleStartLevel;

/** {@code bundle:list} (alias {@code lb}). */
final class BundleList extends Command {
    private final BundleContext context;

    BundleList(BundleContext context) {
        super("bundle", "list", "list the bundles (alias lb): id, state, start level, name, version",
                "[-s] [-l] [TEXT]\n  -s  symbolic names (what update, start, stop take) instead of names\n"
                        + "  -l  the location each bundle was installed from\n"
                        + "  TEXT  only bundles whose name or symbolic name contains it");
        this.context = context;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        boolean symbolic = flag(args, "-s");
        boolean locations = flag(args, "-l");
        noOptions(args);
        if (args.size() > 1) {
            throw new Failure("bundle:list takes one TEXT at most (see bundle:list --help)");
        }
        String text = args.isEmpty() ? null : args.get(0).toLowerCase(Locale.ROOT);
        Table t = locations ? new Table("ID", "STATE", "LEVEL", "NAME", "VERSION", "LOCATION")
                : new Table("ID", "STATE", "LEVEL", "NAME", "VERSION");
        for (Bundle b : context.getBundles()) {
            String name = String.valueOf(symbolic ? b.getSymbolicName() : b.getHeaders().get(Constants.BUNDLE_NAME));
            if (text != null && !name.toLowerCase(Locale.ROOT).contains(text)
                    && !String.valueOf(b.getSymbolicName()).toLowerCase(Locale.ROOT).contains(text)) {
                continue;
            }
            BundleStartLevel level = b.adapt(BundleStartLevel.class);
            Object[] row = {b.getBundleId(), Bundles.state(b), level == null ? "-" : level.getStartLevel(), name, b.getVersion(),
                    b.getLocation()};
            t.row(locations ? row : Arrays.copyOf(row, 5));
        }
        out.print(t);
        return null;
    }
}
