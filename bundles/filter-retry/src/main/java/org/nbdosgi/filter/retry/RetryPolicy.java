package org.nbdosgi.filter.retry;

import java.time.Duration;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/** How often and how patiently to retry: nbdkit's retry filter parameters, checked. */
record RetryPolicy(int retries, Duration delay, boolean exponential, boolean readOnly) {

    static List<Parameter> parameters() {
        return List.of(
                Parameter.of("retries", "how many times one request is retried before it fails (default 5; 0 disables)"),
                Parameter.of("retry-delay", "wait before the first retry; a bare number is seconds (default 2)"),
                Parameter.of("retry-exponential", "double the wait before each further retry (default yes)"),
                Parameter.of("retry-readonly", "after the first failure, reopen the layers below read-only for this connection (default no)"));
    }

    static RetryPolicy from(Config c) throws ConfigException {
        int retries = c.integer("retries", 5);
        if (retries < 0) {
            throw new ConfigException("retries: must not be negative: " + retries);
        }
        Duration delay = c.duration("retry-delay", Duration.ofSeconds(2));
        if (delay.isZero() || delay.isNegative()) {
            throw new ConfigException("retry-delay: must be more than 0");
        }
        return new RetryPolicy(retries, delay, c.bool("retry-exponential", true), c.bool("retry-readonly", false));
    }

    /** The wait before retry number {@code retry} (0 for the first). */
    Duration delayBefore(int retry) {
        return exponential ? delay.multipliedBy(1L << Math.min(retry, 30)) : delay;
    }
}
