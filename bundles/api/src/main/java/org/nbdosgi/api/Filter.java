package org.nbdosgi.api;

import java.util.List;

/**
 * A request transformer stacked over a plugin (or another filter), registered as an OSGi service
 * with the property {@value Plugin#NAME_PROPERTY}. Control plane.
 */
public interface Filter {

    /** The name users type after {@code --filter=}. */
    String name();

    /** One line, shown by {@code nbd:filters} and {@code --help}. */
    String description();

    /** Every parameter the filter accepts; the engine hands it those and passes the rest down. */
    List<Parameter> parameters();

    /** Extra help text after the parameter list (examples), may be empty. */
    default String help() {
        return "";
    }

    /**
     * Validates the parameters and creates the filter's instance for one export.
     *
     * @param next the chain below this filter, for opening handles on it, valid for the instance's
     *             whole life (a rewire that changes what lies below takes this instance apart too,
     *             handing its state to a new one; a rewire above it leaves it alone)
     */
    FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException;
}
