package org.nbdosgi.cli;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A new directory only this user may enter (mode 0700), as {@code Files.createTempDirectory}
 * makes, without its {@code SecureRandom}: the first use of that costs tens of milliseconds of
 * start-up (seeding, security providers) for a name that needs to be new, not secret. The
 * directory is created, never reused, so a name someone else took is simply drawn again.
 */
public final class PrivateDirectory {
    private PrivateDirectory() {
    }

    public static Path create(Path parent, String prefix) throws IOException {
        while (true) {
            Path dir = parent.resolve(prefix + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36));
            try {
                return Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException taken) {
                // drawn again
            }
        }
    }

    /** One under the JVM's temporary directory. */
    public static Path create(String prefix) throws IOException {
        return create(Path.of(System.getProperty("java.io.tmpdir")), prefix);
    }
}
