package org.nbdosgi.plugin.file;

import java.util.Map;

/** Readable names for the Linux errno values the file plugin meets (JNA reports only the number). */
final class Errno {
    private static final Map<Integer, String> TEXT = Map.ofEntries(
            Map.entry(1, "operation not permitted (EPERM)"),
            Map.entry(2, "no such file or directory (ENOENT)"),
            Map.entry(5, "input/output error (EIO)"),
            Map.entry(6, "no such device or address (ENXIO)"),
            Map.entry(9, "bad file descriptor (EBADF)"),
            Map.entry(12, "out of memory (ENOMEM)"),
            Map.entry(13, "permission denied (EACCES)"),
            Map.entry(16, "device or resource busy (EBUSY)"),
            Map.entry(19, "no such device (ENODEV)"),
            Map.entry(21, "is a directory (EISDIR)"),
            Map.entry(22, "invalid argument (EINVAL)"),
            Map.entry(25, "inappropriate ioctl for device (ENOTTY)"),
            Map.entry(27, "file too large (EFBIG)"),
            Map.entry(28, "no space left on device (ENOSPC)"),
            Map.entry(30, "read-only file system (EROFS)"),
            Map.entry(38, "function not implemented (ENOSYS)"),
            Map.entry(95, "operation not supported (EOPNOTSUPP)"),
            Map.entry(122, "disk quota exceeded (EDQUOT)"));

    private Errno() {
    }

    static String describe(int errno) {
        return TEXT.getOrDefault(errno, "errno " + errno);
    }
}
