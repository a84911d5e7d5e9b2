package org.nbdosgi.console.bundle;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.FrameworkWiring;

/** {@code bundle:refresh}, which waits until the framework has done it (Felix's returns at once). */
final class BundleRefresh extends Command {
    private static final long LIMIT_SECONDS = 60;
    private final Bundles bundles;

    BundleRefresh(Bundles bundles) {
        super("bundle", "refresh", "refresh the wiring of the given bundles (default: every bundle that needs it) and wait until done",
                "[BUNDLE...]");
        this.bundles = bundles;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws InterruptedException {
        noOptions(args);
        List<Bundle> which = args.isEmpty() ? null : bundles.all(args);
        List<String> errors = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        FrameworkWiring wiring = bundles.context().getBundle(0).adapt(FrameworkWiring.class);
        wiring.refreshBundles(which, event -> {
            if (event.getType() == FrameworkEvent.ERROR) {
                errors.add(Bundles.describe(event.getBundle()) + ": "
                        + (event.getThrowable() == null ? "error" : event.getThrowable().getMessage()));
            } else if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                done.countDown();
            }
        });
        if (!done.await(LIMIT_SECONDS, TimeUnit.SECONDS)) {
            throw new Failure("refresh did not finish within " + LIMIT_SECONDS + " s");
        }
        if (!errors.isEmpty()) {
            throw new Failure("refresh: " + String.join("; ", errors));
        }
        out.println("refreshed " + (which == null ? "the bundles that needed it" : which.size() + " bundle(s)"));
        return null;
    }
}
