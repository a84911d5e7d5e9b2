package org.nbdosgi.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/** Checks on files that hold a secret (a private key, pre-shared keys). */
final class Secrets {
    private Secrets() {
    }

    /** Refuses a file other users may read: its secret is no longer one. */
    static void checkPrivate(Path file) throws TlsException {
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(file);
        } catch (NoSuchFileException e) {
            throw new TlsException(file + ": no such file");
        } catch (IOException | UnsupportedOperationException e) {
            throw new TlsException(file + ": cannot check its permissions: " + e.getMessage());
        }
        if (perms.contains(PosixFilePermission.OTHERS_READ)) {
            throw new TlsException(file + " is readable by other users (" + PosixFilePermissions.toString(perms)
                    + "); refusing to use it: chmod o-rwx " + file);
        }
    }
}
