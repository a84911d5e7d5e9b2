package org.nbdosgi.api;

/**
 * A bad parameter or an export that cannot start. The message is shown to the user as one line
 * (the command line exits with status 1; the console and configuration files report it on the export),
 * so it should name the parameter and say what is wrong, e.g. {@code size: cannot parse '1Q'}.
 */
public class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
