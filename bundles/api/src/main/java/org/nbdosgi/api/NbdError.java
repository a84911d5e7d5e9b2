package org.nbdosgi.api;

/** The error values the NBD protocol allows on the wire, with their numeric codes. */
public enum NbdError {
    EPERM(1, "Operation not permitted"),
    EIO(5, "Input/output error"),
    ENOMEM(12, "Cannot allocate memory"),
    EINVAL(22, "Invalid argument"),
    ENOSPC(28, "No space left on device"),
    EOVERFLOW(75, "Value too large"),
    ENOTSUP(95, "Operation not supported"),
    ESHUTDOWN(108, "Server is in the process of being shut down");

    private final int code;
    private final String text;

    NbdError(int code, String text) {
        this.code = code;
        this.text = text;
    }

    /** The value sent in the reply's error field. */
    public int code() {
        return code;
    }

    public String text() {
        return text;
    }

    /**
     * Maps a Linux errno (as returned by native calls) to the nearest NBD error, as the
     * protocol suggests: EDQUOT and EFBIG become ENOSPC, EROFS becomes EPERM, unknown ones EIO.
     */
    public static NbdError fromErrno(int errno) {
        return switch (errno) {
            case 1, 13, 30 -> EPERM;          // EPERM, EACCES, EROFS
            case 12 -> ENOMEM;
            case 22 -> EINVAL;
            case 27, 28, 122 -> ENOSPC;       // EFBIG, ENOSPC, EDQUOT
            case 75 -> EOVERFLOW;
            case 95 -> ENOTSUP;               // EOPNOTSUPP == ENOTSUP on Linux
            case 108 -> ESHUTDOWN;
            default -> EIO;
        };
    }
}
