package org.nbdosgi.api;

import java.util.List;

/**
 * A {@code key=value} parameter a plugin or filter accepts. The engine hands each parameter of an
 * export to the first layer, from the top filter down to the plugin, that declares its name or one
 * of its aliases; a parameter no layer declares is an error. {@code help} is one line for
 * {@code nbd-osgi PLUGIN --help}.
 */
public record Parameter(String name, String help, boolean required, List<String> aliases) {
    public Parameter {
        java.util.Objects.requireNonNull(name, "name");
        aliases = List.copyOf(aliases);
    }

    /** An optional parameter. */
    public static Parameter of(String name, String help) {
        return new Parameter(name, help, false, List.of());
    }

    /** A parameter the layer cannot start without. */
    public static Parameter required(String name, String help) {
        return new Parameter(name, help, true, List.of());
    }

    /** The same parameter, also accepted under these names. */
    public Parameter withAliases(String... more) {
        return new Parameter(name, help, required, List.of(more));
    }

    public boolean matches(String key) {
        return name.equals(key) || aliases.contains(key);
    }
}
