package org.nbdosgi.plugin.vddk;

/**
 * The password. The engine has read it already (a secret parameter: {@code -}, {@code +FILE} and
 * {@code -FD} are nbdkit's forms); this only keeps it out of {@link #toString()}, so it cannot
 * leak into a log line.
 */
final class Password {
    private final String secret;

    Password(String secret) {
        this.secret = secret;
    }

    /** The secret itself, for VDDK's connect parameters only. */
    String reveal() {
        return secret;
    }

    @Override
    public String toString() {
        return "(password hidden)";
    }
}
