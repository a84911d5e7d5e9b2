package org.nbdosgi.console.log;

import java.io.IOException;
import java.nio.file.Path;

import org.nbdosgi.console.config.Configurations;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Where {@code log:set} keeps a level for the next start: the configuration {@code org.nbdosgi.log}
 * ({@code etc/org.nbdosgi.log.cfg}), through Configuration Admin, looked up by name when a level
 * is set. Command-line mode runs without Configuration Admin (and the console's import of its
 * package is optional), so there a level is set for this run only. Control plane.
 */
final class KeptLevels {
    private static final String ADMIN = "org.osgi.service.cm.ConfigurationAdmin";
    private final BundleContext ctx;
    private final Path etc;

    KeptLevels(BundleContext ctx, Path etc) {
        this.ctx = ctx;
        this.etc = etc;
    }

    /** Writes {@code level} (DEFAULT removes it) for {@code logger}; returns the file, or null when not kept. */
    Path keep(String logger, String level) throws IOException {
        ServiceReference<?> ref = ctx.getServiceReference(ADMIN);
        if (ref == null) {
            return null;
        }
        Object admin = ctx.getService(ref);
        try {
            return admin == null ? null : write((ConfigurationAdmin) admin, logger, level);
        } finally {
            ctx.ungetService(ref);
        }
    }

    private Path write(ConfigurationAdmin admin, String logger, String level) throws IOException {
        Configurations configurations = new Configurations(admin, etc);
        Configurations.Edit e = configurations.open(LogLevels.PID);
        if (level.equals("DEFAULT")) {
            e.properties().remove(LogLevels.PREFIX + logger);
        } else {
            e.properties().put(LogLevels.PREFIX + logger, level);
        }
        return configurations.apply(e);
    }
}
