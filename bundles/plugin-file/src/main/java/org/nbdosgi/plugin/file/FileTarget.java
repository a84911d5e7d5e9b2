package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * A path the plugin can serve: a regular file or a block device (symbolic links followed), with the
 * device number that tells where its data lives. Control plane.
 *
 * @param device for a block device its own device number (st_rdev), for a file that of the file
 *               system it lives on (st_dev)
 */
record FileTarget(Path path, boolean blockDevice, long device) {
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFDIR = 0040000;

    /**
     * Looks at {@code path}; refuses with a one-line message anything that is not a regular file or
     * block device.
     */
    static FileTarget inspect(Path path) throws NbdException {
        Map<String, Object> attrs;
        try {
            attrs = Files.readAttributes(path, "unix:mode,dev,rdev");
        } catch (IOException e) {
            throw problem(path, e);
        }
        int type = (Integer) attrs.get("mode") & S_IFMT;
        return switch (type) {
            case S_IFREG -> new FileTarget(path, false, (Long) attrs.get("dev"));
            case S_IFBLK -> new FileTarget(path, true, (Long) attrs.get("rdev"));
            case S_IFDIR -> throw new NbdException(NbdError.EINVAL, path + ": is a directory (dir= serves the files in one)");
            default -> throw new NbdException(NbdError.EINVAL, path + ": is not a regular file or block device");
        };
    }

    /** Whether the kernel calls the device holding the data rotational (a spinning disk), as far as sysfs tells. */
    boolean rotational() {
        long major = ((device >>> 8) & 0xfff) | ((device >>> 32) & ~0xfffL);
        long minor = (device & 0xff) | ((device >>> 12) & ~0xffL);
        Path dev = Path.of("/sys/dev/block/" + major + ":" + minor);
        try {
            Path real = dev.toRealPath();
            for (Path queue : new Path[] {real.resolve("queue/rotational"), real.getParent().resolve("queue/rotational")}) {
                if (Files.isReadable(queue)) {
                    return Files.readString(queue).trim().equals("1");
                }
            }
        } catch (IOException | RuntimeException e) {
            // no block device behind it (tmpfs, NFS, overlay): not rotational as far as we know
        }
        return false;
    }

    /**
     * Whether the data lives in RAM (a regular file on tmpfs or ramfs), so reading and writing it
     * never waits for a device.
     */
    boolean inMemory() {
        if (blockDevice) {
            return false;
        }
        try {
            String type = Files.getFileStore(path).type();
            return type.equals("tmpfs") || type.equals("ramfs");
        } catch (IOException e) {
            return false;
        }
    }

    /** A one-line explanation of why {@code path} cannot be opened. */
    static NbdException problem(Path path, IOException e) {
        if (e instanceof NbdException n) {
            return n;
        }
        if (e instanceof NoSuchFileException) {
            return new NbdException(NbdError.EINVAL, path + ": no such file or directory", e);
        }
        if (e instanceof AccessDeniedException) {
            return new NbdException(NbdError.EPERM, path + ": permission denied", e);
        }
        String reason = e instanceof FileSystemException f && f.getReason() != null ? f.getReason() : e.getMessage();
        return new NbdException(NbdError.EIO, path + ": " + reason.toLowerCase(java.util.Locale.ROOT), e);
    }
}
