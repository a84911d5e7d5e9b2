package org.nbdosgi.plugin.s3;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What an s3 disk hands its successor across a hot swap of the bundle, in JDK types only (the
 * successor's classes are not these): which disk it is, its shape, and the secrets as they were
 * read. Control plane.
 */
final class HandOver {
    private static final String DISK = "disk";
    private static final String SIZE = "size";
    private static final String OBJECT_SIZE = "object-size";
    private static final String SINGLE = "single";
    private static final String SECRETS = "secrets";

    private HandOver() {
    }

    static Map<String, Object> of(S3Settings settings, Geometry geometry) {
        Map<String, String> secrets = new HashMap<>();
        for (Secret s : new Secret[] {settings.secretKey(), settings.sessionToken()}) {
            if (s != null) {
                secrets.put(s.id(), s.value());
            }
        }
        return Map.of(DISK, settings.disk(), SIZE, geometry.size(), OBJECT_SIZE, geometry.objectSize(),
                SINGLE, geometry.single(), SECRETS, Map.copyOf(secrets));
    }

    /** The secrets a predecessor read, by {@link Secret#id()}; empty without one. */
    @SuppressWarnings("unchecked")
    static Map<String, String> secrets(Optional<Object> state) {
        return state.filter(Map.class::isInstance).map(s -> (Map<String, String>) ((Map<String, Object>) s).getOrDefault(SECRETS, Map.of()))
                .orElse(Map.of());
    }

    /** The predecessor's geometry, when it served the same disk. */
    static Optional<Geometry> geometry(Optional<Object> state, S3Settings settings) {
        return state.filter(Map.class::isInstance).map(s -> (Map<?, ?>) s)
                .filter(m -> settings.disk().equals(m.get(DISK)))
                .map(m -> new Geometry((Long) m.get(SIZE), (Integer) m.get(OBJECT_SIZE), (Boolean) m.get(SINGLE)));
    }
}
