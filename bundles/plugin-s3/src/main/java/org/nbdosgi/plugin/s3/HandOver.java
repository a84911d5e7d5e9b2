package org.nbdosgi.plugin.s3;

import java.util.Map;
import java.util.Optional;

/**
 * What an s3 disk hands its successor across a hot swap of the bundle, in JDK types only (the
 * successor's classes are not these): which disk it is and its shape. (Secrets need no handing
 * over: the engine keeps what it read from standard input or a descriptor.) Control plane.
 */
final class HandOver {
    private static final String DISK = "disk";
    private static final String SIZE = "size";
    private static final String OBJECT_SIZE = "object-size";
    private static final String SINGLE = "single";

    private HandOver() {
    }

    static Map<String, Object> of(S3Settings settings, Geometry geometry) {
        return Map.of(DISK, settings.disk(), SIZE, geometry.size(), OBJECT_SIZE, geometry.objectSize(), SINGLE, geometry.single());
    }

    /** The predecessor's geometry, when it served the same disk. */
    static Optional<Geometry> geometry(Optional<Object> state, S3Settings settings) {
        return state.filter(Map.class::isInstance).map(s -> (Map<?, ?>) s)
                .filter(m -> settings.disk().equals(m.get(DISK)))
                .map(m -> new Geometry((Long) m.get(SIZE), (Integer) m.get(OBJECT_SIZE), (Boolean) m.get(SINGLE)));
    }
}
