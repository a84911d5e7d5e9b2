package org.nbdosgi.plugin.s3;

/**
 * The value of a secret parameter ({@code secret-key=}, {@code session-token=}), as the engine
 * resolved it from nbdkit's forms ({@code -}, {@code -FD}, {@code +FILE}). Its {@link #toString()}
 * never shows it, so it cannot reach a log line through the settings record.
 */
record Secret(String value) {
    @Override
    public String toString() {
        return "(hidden)";
    }
}
