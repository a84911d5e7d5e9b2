package org.nbdosgi.engine.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.nbdosgi.cli.CommandLine;
import org.nbdosgi.engine.server.Engine;
import org.nbdosgi.tls.TlsException;
import org.osgi.framework.BundleContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container mode's TLS: the {@code nbd.tls*} keys of {@code etc/config.properties} (a {@code -D}
 * system property of the same name wins), applied at start, and again live whenever the file's
 * TLS keys change. New connections use the new settings; established ones keep theirs. Settings
 * that do not load are refused with one log line and the previous ones stay in force. (The files
 * the settings name are watched by the engine's TLS material itself.) Control plane: its own
 * platform thread checks the file every {@link #INTERVAL}.
 */
final class ContainerTls implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ContainerTls.class);
    static final Duration INTERVAL = Duration.ofSeconds(1);
    private static final List<String> KEYS = List.of(TlsOptions.MODE, TlsOptions.CERTIFICATES, TlsOptions.VERIFY_PEER,
            TlsOptions.PSK, TlsOptions.AUTHZ);

    private final Engine engine;
    private final Path file;
    private final Path home;
    private Thread watcher;
    private Map<String, String> applied;

    ContainerTls(Engine engine, BundleContext context) {
        this.engine = engine;
        String etc = context.getProperty("nbd.etc");
        this.file = etc == null ? null : Path.of(etc, "config.properties");
        String h = context.getProperty("nbd.home");
        this.home = h == null ? Path.of(".").toAbsolutePath() : Path.of(h);
        Map<String, String> initial = new HashMap<>();
        for (String k : KEYS) {
            String v = context.getProperty(k);
            if (v != null) {
                initial.put(k, v);
            }
        }
        this.applied = initial;
    }

    /** Applies the settings the server started with (a failure stops it: one line), then watches the file. */
    void start() throws CommandLine.UsageException, TlsException {
        apply(applied);
        if (file != null) {
            watcher = new Thread(this::watch, "nbd-tls-config");
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    private void apply(Map<String, String> keys) throws CommandLine.UsageException, TlsException {
        TlsOptions options;
        try {
            options = TlsOptions.of(keys, home);
            engine.configureTls(options.mode(), options.settings());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.UsageException(file + ": " + e.getMessage());
        }
    }

    private void watch() {
        FileTime seen = modified();
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            FileTime now = modified();
            if (now == null || now.equals(seen)) {
                continue;
            }
            seen = now;
            Map<String, String> keys = read();
            if (keys == null || keys.equals(applied)) {
                continue;
            }
            try {
                apply(keys);
                applied = keys;
                LOG.info("{}: new TLS settings in force for new connections", file);
            } catch (CommandLine.UsageException | TlsException e) {
                LOG.warn("{}: new TLS settings refused, the previous stay in force: {}", file, e.getMessage());
            }
        }
    }

    private FileTime modified() {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return null;
        }
    }

    /** The TLS keys of the file, with system properties winning; null if the file cannot be read. */
    private Map<String, String> read() {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
        } catch (IOException e) {
            LOG.warn("{}: cannot read it: {}", file, e.getMessage());
            return null;
        }
        Map<String, String> keys = new HashMap<>();
        for (String k : KEYS) {
            String v = System.getProperty(k, p.getProperty(k));
            if (v != null) {
                keys.put(k, v);
            }
        }
        return keys;
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.interrupt();
        }
    }
}
