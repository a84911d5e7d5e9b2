package org.nbdosgi.filter.cache;

import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Units;

/**
 * Whether a block read from the layer below is kept in the cache ({@code cache-on-read=}): always,
 * never, or while a path exists (checked at each read that misses the cache, so it can be switched
 * while the server runs). Immutable; data plane.
 */
record CacheOnRead(boolean always, Path whileExists) {
    static final CacheOnRead NEVER = new CacheOnRead(false, null);

    static CacheOnRead parse(String value) throws ConfigException {
        if (value == null) {
            return NEVER;
        }
        if (value.startsWith("/")) {
            return new CacheOnRead(false, Path.of(value));
        }
        try {
            return new CacheOnRead(Units.parseBoolean(value), null);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("cache-on-read: '" + value + "' is not true, false or an absolute path");
        }
    }

    boolean active() {
        return always || (whileExists != null && Files.exists(whileExists));
    }

    @Override
    public String toString() {
        return whileExists != null ? "while " + whileExists + " exists" : Boolean.toString(always);
    }
}
