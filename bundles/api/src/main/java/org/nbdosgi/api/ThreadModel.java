package org.nbdosgi.api;

/**
 * How much concurrency a layer accepts, as in nbdkit. An export runs at the most restrictive model
 * of its layers; the engine enforces it, so plugins and filters never lock for this themselves.
 * Declared from most to least restrictive.
 */
public enum ThreadModel {
    /** One client connection at a time; others wait for it to disconnect. */
    SERIALIZE_CONNECTIONS,
    /** Many connections, one request at a time across all of them. */
    SERIALIZE_ALL_REQUESTS,
    /** One request at a time per connection. */
    SERIALIZE_REQUESTS,
    /** Requests run concurrently, on any thread. */
    PARALLEL;

    /** The more restrictive of the two. */
    public ThreadModel restrict(ThreadModel other) {
        return compareTo(other) <= 0 ? this : other;
    }

    /** Lower case with dashes, as nbdkit prints it, e.g. {@code serialize-requests}. */
    public String displayName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
