package org.nbdosgi.plugin.http;

/**
 * The value of a secret parameter ({@code password=}, {@code cookie=}, or the password in the URL),
 * as the engine resolved it from nbdkit's forms ({@code -}, {@code -FD}, {@code +FILE}).
 * {@link #toString()} never shows it, so it cannot reach a log line by accident.
 */
record Secret(String reveal) {
    @Override
    public String toString() {
        return "(hidden)";
    }
}
