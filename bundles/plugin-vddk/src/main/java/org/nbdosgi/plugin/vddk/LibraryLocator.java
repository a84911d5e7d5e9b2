package org.nbdosgi.plugin.vddk;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.ConfigException;

/**
 * Where VDDK's library is in an unpacked VDDK distribution: {@code DIR/lib64/libvixDiskLib.so.N},
 * then {@code DIR/libvixDiskLib.so.N}, for N = 9, 8, 7, 6. Always an absolute path: VDDK must not
 * be looked up on the system library path (it ships its own libcrypto, libstdc++ ...).
 */
final class LibraryLocator {
    private static final int[] MAJOR_VERSIONS = {9, 8, 7, 6};

    private LibraryLocator() {
    }

    /** The candidates, in the order they are tried. */
    static List<Path> candidates(Path libdir) {
        List<Path> out = new ArrayList<>();
        for (int n : MAJOR_VERSIONS) {
            out.add(libdir.resolve("lib64").resolve("libvixDiskLib.so." + n));
            out.add(libdir.resolve("libvixDiskLib.so." + n));
        }
        return out;
    }

    static Path find(Path libdir) throws ConfigException {
        Path dir = libdir.toAbsolutePath().normalize();
        for (Path p : candidates(dir)) {
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new ConfigException("libdir: no libvixDiskLib.so.{9,8,7,6} in " + dir + "/lib64 or " + dir
                + " (set libdir= to the unpacked VDDK distribution)");
    }
}
