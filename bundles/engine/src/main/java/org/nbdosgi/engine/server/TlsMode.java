package org.nbdosgi.engine.server;

import java.util.Locale;

/** nbdkit's {@code --tls}: whether clients may, or must, upgrade with NBD_OPT_STARTTLS. */
public enum TlsMode {
    /** No TLS: NBD_OPT_STARTTLS gets NBD_REP_ERR_POLICY (the spec's NOTLS mode). */
    OFF,
    /** TLS if the client asks (SELECTIVETLS): only exports with an allow-list need it. */
    ON,
    /** Every option but NBD_OPT_STARTTLS and NBD_OPT_ABORT needs TLS first (FORCEDTLS). */
    REQUIRE;

    /** {@code off}, {@code on} or {@code require}; as in nbdkit, a boolean means off or on. */
    public static TlsMode parse(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "off", "no", "false", "0" -> OFF;
            case "on", "yes", "true", "1" -> ON;
            case "require" -> REQUIRE;
            default -> throw new IllegalArgumentException("--tls=" + s + ": expected off, on or require");
        };
    }

    /** {@code $tls} in captive mode, as nbdkit sets it: unset, 1 or 2. */
    public String captiveValue() {
        return switch (this) {
            case OFF -> null;
            case ON -> "1";
            case REQUIRE -> "2";
        };
    }
}
