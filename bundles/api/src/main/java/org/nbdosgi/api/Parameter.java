package org.nbdosgi.api;

import java.util.List;

/**
 * A {@code key=value} parameter a plugin or filter accepts. The engine hands each parameter of an
 * export to the first layer, from the top filter down to the plugin, that declares its name or one
 * of its aliases; a parameter no layer declares is an error. {@code help} is one line for
 * {@code nbd-osgi PLUGIN --help}. A parameter may be given once, unless it is {@code repeatable}
 * (nbdkit's curl {@code header=}): then every value reaches the layer, see {@link Config#all}.
 *
 * <p>A {@code secret} parameter (a password, a secret key) is resolved by the engine before the
 * layer sees it, in nbdkit's forms: {@code -} reads it from standard input (without echo on a
 * terminal), {@code -FD} from file descriptor FD, {@code +FILE} from a file (one trailing newline
 * dropped), anything else is the value itself. The layer gets the value; configuration files keep
 * what the user wrote (the reference, never the value read), are created 0600 when they hold a
 * secret, and the value is never shown in a log line or in the console's output.
 */
public record Parameter(String name, String help, boolean required, List<String> aliases, boolean repeatable, boolean secret) {
    public Parameter {
        java.util.Objects.requireNonNull(name, "name");
        aliases = List.copyOf(aliases);
    }

    public Parameter(String name, String help, boolean required, List<String> aliases) {
        this(name, help, required, aliases, false, false);
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
        return new Parameter(name, help, false, List.of(), true, false);
    }

    /** An optional secret parameter (see the class description). */
    public static Parameter secret(String name, String help) {
        return new Parameter(name, help, false, List.of(), false, true);
    }

    /** The same parameter, also accepted under these names. */
    public Parameter withAliases(String... more) {
        return new Parameter(name, help, required, List.of(more), repeatable, secret);
    }

    /** The same parameter, a secret. */
    public Parameter asSecret() {
        return new Parameter(name, help, required, aliases, repeatable, true);
    }

    public boolean matches(String key) {
        return name.equals(key) || aliases.contains(key);
    }
}
