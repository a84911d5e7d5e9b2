package org.nbdosgi.engine.chain;

import java.util.Collection;

import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;

/** The plugin and filter services present right now, by name. Thread-safe. */
public interface Catalog {
    Plugin plugin(String name);

    Filter filter(String name);

    Collection<Plugin> plugins();

    Collection<Filter> filters();
}
