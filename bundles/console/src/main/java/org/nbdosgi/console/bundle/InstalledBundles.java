package org.nbdosgi.console.bundle;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bundles installed from the console, remembered in {@code data/console-bundles.properties}
 * (location = {@code started} or {@code stopped}, and {@code LOCATION.from = URL} after an update
 * from elsewhere), because the launcher starts the framework with a clean cache: at the next start
 * they are installed again, and started if they were. Container mode only; on the command line
 * (a private, throw-away instance) nothing is remembered. Control plane.
 */
final class InstalledBundles {
    private static final Logger LOG = LoggerFactory.getLogger(InstalledBundles.class);
    private static final String FROM = ".from";
    private final Path file;

    private InstalledBundles(Path file) {
        this.file = file;
    }

    static InstalledBundles of(BundleContext ctx) {
        String data = ctx.getProperty("nbd.data");
        boolean container = "container".equals(ctx.getProperty("nbd.mode"));
        return new InstalledBundles(container && data != null ? Path.of(data, "console-bundles.properties") : null);
    }

    /** Installs (and starts) what was installed from the console before the restart. */
    void restore(BundleContext ctx) {
        Properties p = load();
        for (String location : p.stringPropertyNames()) {
            if (location.endsWith(FROM) || ctx.getBundle(location) != null) {
                continue;
            }
            String from = p.getProperty(location + FROM, location);
            try (var in = java.net.URI.create(from).toURL().openStream()) {
                Bundle b = ctx.installBundle(location, in);
                if ("started".equals(p.getProperty(location))) {
                    b.start();
                }
                LOG.info("bundle {} ({} {}) installed again, as the console left it", b.getBundleId(), b.getSymbolicName(), b.getVersion());
            } catch (IOException | BundleException | IllegalArgumentException | IllegalStateException e) {
                LOG.warn("bundle {}, installed from the console, could not be installed again: {}", from, e.getMessage());
            }
        }
    }

    void add(String location, boolean started) {
        change(p -> {
            p.setProperty(location, started ? "started" : "stopped");
            p.remove(location + FROM);
        });
    }

    void updated(String location, String from) {
        change(p -> {
            if (p.containsKey(location)) {
                p.setProperty(location + FROM, from);
            }
        });
    }

    void started(String location, boolean started) {
        change(p -> {
            if (p.containsKey(location)) {
                p.setProperty(location, started ? "started" : "stopped");
            }
        });
    }

    void remove(String location) {
        change(p -> {
            p.remove(location);
            p.remove(location + FROM);
        });
    }

    private synchronized void change(java.util.function.Consumer<Properties> edit) {
        if (file == null) {
            return;
        }
        Properties p = load();
        edit.accept(p);
        try {
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            try (Writer w = Files.newBufferedWriter(tmp)) {
                p.store(w, "bundles installed from the nbd-osgi console, installed again at start");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Command.Failure("cannot remember it in " + file + ": " + e.getMessage());
        }
    }

    private Properties load() {
        Properties p = new Properties();
        if (file != null && Files.isRegularFile(file)) {
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException e) {
                LOG.warn("cannot read {}: {}", file, e.getMessage());
            }
        }
        return p;
    }
}
