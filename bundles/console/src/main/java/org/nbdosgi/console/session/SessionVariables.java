package org.nbdosgi.console.session;

/** Session variables the interactive consoles (bundle org.nbdosgi.shell) and the console's commands share. */
public final class SessionVariables {
    /**
     * Set by an interactive console: a {@code java.util.function.Function<String, String>} that
     * asks its user a question on their terminal and returns the answer (null at end of input).
     */
    public static final String ASK = ".nbd.ask";

    private SessionVariables() {
    }
}
