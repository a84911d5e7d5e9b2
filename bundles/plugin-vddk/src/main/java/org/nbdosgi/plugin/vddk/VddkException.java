package org.nbdosgi.plugin.vddk;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/** A VDDK call that returned an error: EIO for the client, the function and VDDK's text for the log. */
final class VddkException extends NbdException {
    private static final long serialVersionUID = 1L;

    private final long code;

    VddkException(String function, long code, String text) {
        super(NbdError.EIO, "VixDiskLib_" + function + ": " + text);
        this.code = code;
    }

    long code() {
        return code;
    }
}
