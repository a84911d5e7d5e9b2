package org.nbdosgi.api;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The parameters one layer received, keyed by the canonical {@link Parameter#name()} (the engine
 * has already resolved aliases and checked that every key was declared). Typed getters throw
 * {@link ConfigException} with a message naming the parameter.
 */
public final class Config {
    /** How the values of a parameter given several times are joined in one map value. */
    public static final String REPEAT_SEPARATOR = "\n";

    private final Map<String, String> values;

    public Config(Map<String, String> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public static Config empty() {
        return new Config(Map.of());
    }

    public Map<String, String> asMap() {
        return values;
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public String get(String key, String defaultValue) {
        return values.getOrDefault(key, defaultValue);
    }

    /**
     * Every value of a {@link Parameter#repeatable() repeatable} parameter, in the order given;
     * empty when it was not given. (The values travel joined by {@link #REPEAT_SEPARATOR}, so a
     * repeatable parameter's value cannot contain a newline.)
     */
    public List<String> all(String key) {
        String v = values.get(key);
        return v == null ? List.of() : List.of(v.split(REPEAT_SEPARATOR, -1));
    }

    public String require(String key) throws ConfigException {
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            throw new ConfigException(key + ": this parameter is required");
        }
        return v;
    }

    public long size(String key, long defaultValue) throws ConfigException {
        String v = values.get(key);
        return v == null ? defaultValue : parse(key, v, Units::parseSize);
    }

    public Duration duration(String key, Duration defaultValue) throws ConfigException {
        String v = values.get(key);
        return v == null ? defaultValue : parse(key, v, Units::parseDuration);
    }

    public boolean bool(String key, boolean defaultValue) throws ConfigException {
        String v = values.get(key);
        return v == null ? defaultValue : parse(key, v, Units::parseBoolean);
    }

    public int integer(String key, int defaultValue) throws ConfigException {
        String v = values.get(key);
        return v == null ? defaultValue : parse(key, v, s -> Integer.parseInt(s.trim()));
    }

    /** One of an enum's constants, matched case-insensitively with dashes for underscores. */
    public <E extends Enum<E>> E choice(String key, Class<E> type, E defaultValue) throws ConfigException {
        String v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        String wanted = v.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(wanted)) {
                return e;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            allowed.append(allowed.isEmpty() ? "" : "|").append(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw new ConfigException(key + ": '" + v + "' is not one of " + allowed);
    }

    private interface Parser<T> {
        T parse(String s);
    }

    private static <T> T parse(String key, String value, Parser<T> parser) throws ConfigException {
        try {
            return parser.parse(value);
        } catch (IllegalArgumentException e) {
            String why = e instanceof NumberFormatException ? "cannot parse '" + value + "'" : e.getMessage();
            throw new ConfigException(key + ": " + why);
        }
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
