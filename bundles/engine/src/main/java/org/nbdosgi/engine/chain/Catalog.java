package org.nbdosgi.engine.chain;

import java.util.Collection;

import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;

/** The plugin and filter services present right now, by name, and how secrets are read. Thread-safe. */
public interface Catalog {
    Plugin plugin(String name);

    Filter filter(String name);

    Collection<Plugin> plugins();

    Collection<Filter> filters();

    /** How the values of secret parameters are read: without the command line's standard input unless told. */
    default SecretValues secrets() {
        return SecretValues.withoutStandardInput();
    }
}
