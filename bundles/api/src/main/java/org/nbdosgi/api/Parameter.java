package org.nbdosgi.api;

import java.util.List;

/**
 * A {@code key=value} parameter a plugin or filter accepts. The engine hands each parameter of an
 * export to the first layer, from the top filter down to the plugin, that declares its name or one
 * of its aliases; a parameter no layer declares is an error. {@code help} is one line for
 * {@code nbd-osgi PLUGIN --help}. A parameter may be given once, unless it is {@code repeatable}
 * (nbdkit's curl {@code header=}): then every value reaches the layer, see {@link Config#all}.
 */
public record Parameter(String name, String help, boolean required, List<String> aliases, boolean repeatable) {
    public Parameter {
        java.util.Objects.requireNonNull(name, "name");
        aliases = List.copyOf(aliases);
    }

    public Parameter(String name, String help, boolean required, List<String> aliases) {
        this(name, help, required, aliases, false);
    }

    /** An optional parameter. */
    public static Parameter of(String name, String help) {
        return new Parameter(name, help, false, List.of());
    }

    /** A parameter the layer cannot start without. */
    public static Parameter required(String name, String help) {
        return new Parameter(name, help, true, List.of());
    }

    /** An optional parameter that may be given any number of times. */
    public static Parameter repeatable(String name, String help) {
        return new Parameter(name, help, false, List.of(), true);
    }

    /** The same parameter, also accepted under these names. */
    public Parameter withAliases(String... more) {
        return new Parameter(name, help, required, List.of(more), repeatable);
    }

    public boolean matches(String key) {
        return name.equals(key) || aliases.contains(key);
    }
}
