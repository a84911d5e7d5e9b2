package org.nbdosgi.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

import org.nbdosgi.cli.CommandLine;
import org.nbdosgi.engine.server.TlsMode;
import org.nbdosgi.tls.TlsSettings;

/**
 * The TLS settings a user gives, on the command line ({@code --tls*}) or in container mode's
 * {@code etc/config.properties} ({@code nbd.tls*}), turned into what the engine takes. Without
 * {@code --tls-certificates} or {@code --tls-psk}, certificates are looked for where nbdkit looks:
 * {@code /etc/pki/nbdkit} for root, else {@code ~/.pki/nbdkit}. Control plane.
 */
record TlsOptions(TlsMode mode, Path certificates, boolean verifyPeer, Path psk, Path authz) {
    static final String MODE = "nbd.tls";
    static final String CERTIFICATES = "nbd.tls.certificates";
    static final String VERIFY_PEER = "nbd.tls.verify-peer";
    static final String PSK = "nbd.tls.psk";
    static final String AUTHZ = "nbd.tls.authz";

    /** From the command line's {@code --tls*} options. */
    static TlsOptions of(CommandLine cl) {
        return new TlsOptions(TlsMode.of(cl.tls()), path(cl.tlsCertificates(), null), cl.tlsVerifyPeer(),
                path(cl.tlsPsk(), null), path(cl.tlsAuthz(), null));
    }

    /** From {@code nbd.tls*} properties; relative paths are taken from {@code home}. */
    static TlsOptions of(Map<String, String> props, Path home) {
        String mode = props.get(MODE);
        String verify = props.getOrDefault(VERIFY_PEER, "false").strip().toLowerCase(Locale.ROOT);
        if (!verify.equals("true") && !verify.equals("false")) {
            throw new IllegalArgumentException(VERIFY_PEER + " = " + verify + ": expected true or false");
        }
        return new TlsOptions(mode == null || mode.isBlank() ? TlsMode.OFF : TlsMode.parse(mode),
                path(props.get(CERTIFICATES), home), verify.equals("true"), path(props.get(PSK), home),
                path(props.get(AUTHZ), home));
    }

    private static Path path(String s, Path home) {
        if (s == null || s.isBlank()) {
            return null;
        }
        Path p = Path.of(s.strip());
        return home == null || p.isAbsolute() ? p.toAbsolutePath() : home.resolve(p);
    }

    /** What the engine loads, or why these options make no sense (one line for the user). */
    TlsSettings settings() {
        if (mode == TlsMode.OFF) {
            if (authz != null) {
                throw new IllegalArgumentException("--tls-authz needs --tls=on or --tls=require");
            }
            return null;
        }
        Path dir = certificates;
        if (dir == null && psk == null) {
            dir = defaultCertificates();
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException("--tls=" + mode.name().toLowerCase(Locale.ROOT)
                        + " needs --tls-certificates=DIR or --tls-psk=FILE (and there is no " + dir + ")");
            }
        }
        return new TlsSettings(dir, verifyPeer, psk, authz);
    }

    /** nbdkit's default certificates directory. */
    static Path defaultCertificates() {
        boolean root = "root".equals(System.getProperty("user.name"));
        return root ? Path.of("/etc/pki/nbdkit") : Path.of(System.getProperty("user.home"), ".pki", "nbdkit");
    }
}
