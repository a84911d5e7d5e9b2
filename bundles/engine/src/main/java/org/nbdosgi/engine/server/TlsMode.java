package org.nbdosgi.engine.server;

import org.nbdosgi.cli.CommandLine;

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
        return of(CommandLine.Tls.parse(s));
    }

    /** The mode the command line's {@code --tls} names. */
    public static TlsMode of(CommandLine.Tls tls) {
        return valueOf(tls.name());
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
