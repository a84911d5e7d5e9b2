package org.nbdosgi.api;

import java.io.IOException;

/**
 * A failed operation, carrying the NBD error the client receives and a message for the log. The
 * message may name what only the server should know (paths, what is on disk): clients get the
 * error and its plain text ({@link NbdError#text()}), never the message. Any other
 * {@link IOException} reaches the client as EIO; any {@link RuntimeException} from a plugin or
 * filter is a bug, logged and sent as EIO.
 */
public class NbdException extends IOException {
    private static final long serialVersionUID = 1L;

    private final NbdError error;

    public NbdException(NbdError error, String message) {
        super(message);
        this.error = error;
    }

    public NbdException(NbdError error, String message, Throwable cause) {
        super(message, cause);
        this.error = error;
    }

    public NbdError error() {
        return error;
    }

    /** The NBD error for any throwable: its own for an NbdException, EIO otherwise. */
    public static NbdError errorOf(Throwable t) {
        return t instanceof NbdException e ? e.error : NbdError.EIO;
    }
}
