package org.nbdosgi.api;

import java.util.List;

/**
 * A storage back end, registered as an OSGi service with the property {@value #NAME_PROPERTY}
 * set to its {@link #name()}. Control plane: the engine calls {@link #create} when an export that
 * uses the plugin starts, once per export.
 */
public interface Plugin {
    /** The service property that names a plugin or filter. */
    String NAME_PROPERTY = "nbd.name";

    /** The name users type, e.g. {@code memory}; equal to the {@value #NAME_PROPERTY} property. */
    String name();

    /** One line, shown by {@code nbd:plugins} and {@code --help}. */
    String description();

    /** Every parameter the plugin accepts. */
    List<Parameter> parameters();

    /**
     * The parameter a bare value on the command line stands for ({@code memory 1G} means
     * {@code memory size=1G}), or null if the plugin has none.
     */
    default String magicParameter() {
        return null;
    }

    /** Extra help text after the parameter list (examples), may be empty. */
    default String help() {
        return "";
    }

    /**
     * Validates the parameters and creates the instance for one export. Every problem with the
     * parameters or the storage is a {@link ConfigException} whose message is one readable line.
     */
    PluginInstance create(Config config, ExportContext export) throws ConfigException;
}
