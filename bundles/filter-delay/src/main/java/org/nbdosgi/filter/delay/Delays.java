package org.nbdosgi.filter.delay;

import java.time.Duration;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * How long each kind of request waits before it goes to the layer below, as the parameters say.
 * {@code wdelay} covers write, zero and trim, as in nbdkit; {@code delay-write}, {@code delay-zero}
 * and {@code delay-trim} override it for their operation. Immutable, shared by every connection.
 */
record Delays(Duration read, Duration write, Duration zero, Duration trim, Duration extents, Duration cache,
              Duration flush, Duration open, Duration close, boolean delayFastZero) {

    static Delays from(Config config) throws ConfigException {
        Duration wdelay = config.duration("wdelay", Duration.ZERO);
        return new Delays(
                config.duration("rdelay", Duration.ZERO),
                config.duration("delay-write", wdelay),
                config.duration("delay-zero", wdelay),
                config.duration("delay-trim", wdelay),
                config.duration("delay-extents", Duration.ZERO),
                config.duration("delay-cache", Duration.ZERO),
                config.duration("delay-flush", Duration.ZERO),
                config.duration("delay-open", Duration.ZERO),
                config.duration("delay-close", Duration.ZERO),
                config.bool("delay-fast-zero", true));
    }

    /**
     * Waits {@code delay}. Requests run on virtual threads, so a sleeping request holds no platform
     * thread: 128 delayed requests in flight cost 128 parked virtual threads. Data plane.
     */
    static void sleep(Duration delay) throws NbdException {
        if (delay.isZero()) {
            return;
        }
        try {
            Thread.sleep(delay);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NbdException(NbdError.ESHUTDOWN, "delay: interrupted while waiting");
        }
    }
}
