package org.nbdosgi.plugin.http;

/**
 * The value of a secret parameter ({@code password=}, {@code cookie=}), kept so that
 * {@link #toString()} never shows it: it cannot reach a log line by accident. The parameters are
 * declared secret, so the engine has already read nbdkit's forms ({@code -}, {@code +FILE},
 * {@code -FD}) by the time the plugin sees the value.
 */
final class Secret {
    private final String value;

    Secret(String value) {
        this.value = value;
    }

    /** The secret itself, for the request that needs it. */
    String reveal() {
        return value;
    }

    @Override
    public String toString() {
        return "(hidden)";
    }
}
