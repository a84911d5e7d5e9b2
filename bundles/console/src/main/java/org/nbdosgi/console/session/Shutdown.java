package org.nbdosgi.console.session;

import java.util.Collection;
import java.util.function.IntConsumer;

import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.slf4j.LoggerFactory;

/** Stopping the server from a console ({@code system:shutdown}, yes at the local console's Ctrl-D). Control plane. */
public final class Shutdown {
    private Shutdown() {
    }

    /**
     * Ends the process through the launcher (its {@code IntConsumer} service, exit status 0);
     * without one (a framework someone else launched), stops the framework on a thread of its own.
     */
    public static void stop(BundleContext context) {
        try {
            Collection<ServiceReference<IntConsumer>> launcher = context.getServiceReferences(IntConsumer.class, "(nbd.launcher=true)");
            if (!launcher.isEmpty()) {
                context.getService(launcher.iterator().next()).accept(0);
                return;
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        Thread.ofPlatform().daemon().name("nbd-shutdown").start(() -> {
            try {
                context.getBundle(0).stop();
            } catch (BundleException e) {
                LoggerFactory.getLogger(Shutdown.class).error("stopping the framework: {}", e.getMessage());
            }
        });
    }
}
