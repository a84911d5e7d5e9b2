package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.util.Locale;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * Turns the JDK's I/O exceptions into NBD errors. The JDK reports errno only as strerror's text, so
 * the errors a client treats specially (ENOSPC makes qemu pause a guest instead of failing it) are
 * recognised by that text; everything else is EIO.
 */
final class IoErrors {
    private IoErrors() {
    }

    static NbdException translate(Path path, String op, IOException e) {
        if (e instanceof NbdException n) {
            return n;
        }
        String text = String.valueOf(e.getMessage());
        String lower = text.toLowerCase(Locale.ROOT);
        NbdError error;
        if (lower.contains("no space left") || lower.contains("quota exceeded") || lower.contains("file too large")) {
            error = NbdError.ENOSPC;
        } else if (e instanceof AccessDeniedException || lower.contains("read-only file system")
                || lower.contains("permission denied") || lower.contains("operation not permitted")) {
            error = NbdError.EPERM;
        } else if (lower.contains("cannot allocate memory")) {
            error = NbdError.ENOMEM;
        } else {
            error = NbdError.EIO;
        }
        String why = e instanceof ClosedChannelException ? "the file is closed" : text;
        return new NbdException(error, path + ": " + op + " failed: " + why, e);
    }
}
