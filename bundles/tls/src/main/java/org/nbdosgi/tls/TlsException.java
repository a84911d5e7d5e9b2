package org.nbdosgi.tls;

import java.io.IOException;

/** TLS failed: bad material, a failed handshake, a broken record. The message is one line for a log or a user. */
public class TlsException extends IOException {
    private static final long serialVersionUID = 1L;

    public TlsException(String message) {
        super(message);
    }

    public TlsException(String message, Throwable cause) {
        super(message, cause);
    }
}
