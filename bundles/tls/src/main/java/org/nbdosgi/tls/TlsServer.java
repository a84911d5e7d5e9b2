package org.nbdosgi.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.security.auth.x500.X500Principal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TLS server's material and authorization rules, kept current: the files of its {@link TlsSettings} are checked every
 * {@code interval} and, when one changed, read again. New handshakes use the new material;
 * established connections keep theirs. New material that does not load (a broken file, a key
 * that does not match its certificate) is refused with one log line, and the material in use
 * stays. Data plane: {@link #newEngine} (any thread, lock-free). The check runs on a platform
 * thread of its own (OpenSSL reads the files in native code).
 */
public final class TlsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TlsServer.class);

    /** What a file looked like: a change to any part is a change of the file (or of where a link points). */
    private record Stamp(Path path, boolean exists, FileTime modified, long size, Object key) {
        static Stamp of(Path p) {
            try {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                return new Stamp(p, true, a.lastModifiedTime(), a.size(), a.fileKey());
            } catch (NoSuchFileException e) {
                return new Stamp(p, false, null, -1, null);
            } catch (IOException e) {
                return new Stamp(p, false, null, -2, e.getMessage());
            }
        }
    }

    private final TlsSettings settings;
    private final Thread watcher;
    private volatile TlsContext current;
    private volatile TlsAuthorization authorization;
    private List<Stamp> inUse;        // watcher's
    private List<Stamp> lastRefused;  // watcher's: a refused state is logged once

    private TlsServer(TlsSettings settings, TlsContext first, TlsAuthorization authorization, List<Stamp> stamps,
                      Duration interval) {
        this.settings = settings;
        this.current = first;
        this.authorization = authorization;
        this.inUse = stamps;
        if (interval == null) {
            watcher = null;
        } else {
            watcher = new Thread(() -> watch(interval), "nbd-tls-reload");
            watcher.setDaemon(true);
            watcher.start();
        }
    }

    /**
     * Loads the material (or throws, with one line naming the file) and, unless {@code interval}
     * is null, watches its files. Control plane.
     */
    public static TlsServer start(TlsSettings settings, Duration interval) throws TlsException {
        List<Stamp> stamps = stamps(settings);
        TlsAuthorization authorization = settings.loadAuthorization();
        TlsContext context = load(settings);
        LOG.info("TLS: {}", describe(settings));
        return new TlsServer(settings, context, authorization, stamps, interval);
    }

    public TlsSettings settings() {
        return settings;
    }

    /** The newest authorization rules. Any thread. */
    public TlsAuthorization authorization() {
        return authorization;
    }

    /** A server-side engine for a new connection, from the newest material. Any thread. */
    public TlsEngine newEngine() throws TlsException {
        while (true) {
            TlsContext c = current;
            try {
                return c.newEngine();
            } catch (TlsException e) {
                if (c == current) {
                    throw e;
                }
                // replaced (and closed) between reading it and using it: take the new one
            }
        }
    }

    private static TlsContext load(TlsSettings settings) throws TlsException {
        return TlsContext.open(settings.load());
    }

    private static List<Stamp> stamps(TlsSettings settings) {
        List<Stamp> out = new ArrayList<>();
        for (Path p : settings.files()) {
            out.add(Stamp.of(p));
        }
        return out;
    }

    /**
     * Reloads once the files have stayed the same for one interval: a certificate and its key are
     * replaced one after the other, and the moment in between is no material to refuse.
     */
    private void watch(Duration interval) {
        List<Stamp> last = null;
        while (!Thread.currentThread().isInterrupted()) {
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
            List<Stamp> now = stamps(settings);
            if (now.equals(last)) {
                reloadIfChanged();
            }
            last = now;
        }
    }

    /**
     * Loads the material again if a file changed since it was loaded; true if new material is now
     * in use. Called by the watcher (and by tests, which may pass a null interval).
     */
    public synchronized boolean reloadIfChanged() {
        List<Stamp> before = stamps(settings);
        if (before.equals(inUse) || before.equals(lastRefused)) {
            return false;
        }
        TlsContext fresh;
        TlsAuthorization rules;
        try {
            rules = settings.loadAuthorization();
            fresh = load(settings);
        } catch (TlsException e) {
            if (!before.equals(stamps(settings))) {
                return false;                               // still being written: look again next time
            }
            lastRefused = before;
            LOG.warn("TLS: new material refused, the previous stays in use: {}", e.getMessage());
            return false;
        }
        if (!before.equals(stamps(settings))) {
            fresh.close();                                  // changed while loading: load it again next time
            return false;
        }
        TlsContext old = current;
        current = fresh;
        authorization = rules;
        inUse = before;
        lastRefused = null;
        old.close();                                        // its connections keep what they use
        LOG.info("TLS: reloaded: {}", describe(settings));
        return true;
    }

    /** One line for the log: what is loaded, never a secret. */
    private static String describe(TlsSettings s) {
        List<String> parts = new ArrayList<>();
        if (s.certificates() != null) {
            Path cert = s.certificates().resolve(TlsSettings.SERVER_CERT);
            String what = "certificate " + cert;
            try (InputStream in = Files.newInputStream(cert)) {
                X509Certificate x = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
                what += " (" + x.getSubjectX500Principal().getName(X500Principal.RFC2253) + ", valid until "
                        + x.getNotAfter().toInstant() + ")";
            } catch (IOException | CertificateException | RuntimeException e) {
                // the log line goes without the details
            }
            parts.add(what);
            if (Files.exists(s.certificates().resolve(TlsSettings.CA_CRL))) {
                parts.add("revocation list " + s.certificates().resolve(TlsSettings.CA_CRL));
            }
            if (s.verifyPeer()) {
                parts.add("client certificates required");
            }
        }
        if (s.pskFile() != null) {
            parts.add("pre-shared keys from " + s.pskFile());
        }
        if (s.authorization() != null) {
            parts.add("authorization from " + s.authorization());
        }
        return String.join(", ", parts);
    }

    /** Stops watching; connections made go on with their material. */
    @Override
    public void close() {
        if (watcher != null) {
            watcher.interrupt();
            try {
                watcher.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            current.close();
        }
    }
}
