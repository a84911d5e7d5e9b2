package org.nbdosgi.plugin.vddk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ConfigException;

class LibraryLocatorTest {
    @TempDir
    Path dir;

    @Test
    void prefersLib64AndTheNewestMajorVersion() throws Exception {
        Files.createDirectories(dir.resolve("lib64"));
        Files.createFile(dir.resolve("libvixDiskLib.so.9"));
        Files.createFile(dir.resolve("lib64/libvixDiskLib.so.9"));
        Files.createFile(dir.resolve("lib64/libvixDiskLib.so.7"));
        assertEquals(dir.resolve("lib64/libvixDiskLib.so.9"), LibraryLocator.find(dir));
        Files.delete(dir.resolve("lib64/libvixDiskLib.so.9"));
        assertEquals(dir.resolve("libvixDiskLib.so.9"), LibraryLocator.find(dir), "9 beside lib64 beats 7 in lib64");
    }

    @Test
    void aMissingLibraryNamesWhereItLooked() {
        ConfigException e = assertThrows(ConfigException.class, () -> LibraryLocator.find(dir));
        assertTrue(e.getMessage().startsWith("libdir: no libvixDiskLib.so.{9,8,7,6} in " + dir), e.getMessage());
    }

    @Test
    void relativeLibdirsBecomeAbsolute() throws Exception {
        assertTrue(LibraryLocator.candidates(Path.of("/x")).get(0).isAbsolute());
        assertEquals(8, LibraryLocator.candidates(Path.of("/x")).size());
    }
}
