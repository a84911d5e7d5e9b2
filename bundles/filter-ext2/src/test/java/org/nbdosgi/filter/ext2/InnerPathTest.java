package org.nbdosgi.filter.ext2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class InnerPathTest {
    @Test
    void plainAbsolutePathsPassInTheirPlainForm() {
        assertEquals("/disks/disk.raw", InnerPath.check("/disks/disk.raw"));
        assertEquals("/disks/disk.raw", InnerPath.check("//disks/./disk.raw/"));
        assertEquals("/", InnerPath.check("/"));
        assertEquals("/a..b/..c", InnerPath.check("/a..b/..c"), "only a whole '..' component is refused");
    }

    @Test
    void relativeParentEmptyAndControlCharactersAreRefused() {
        assertRefused("", "no file given");
        assertRefused("disk.raw", "must be absolute");
        assertRefused("/disks/../etc/passwd", "'..' is not allowed");
        assertRefused("/..", "'..' is not allowed");
        assertRefused("/disk\0.raw", "control characters");
        assertRefused("/" + "a".repeat(5000), "longer than 4096");
    }

    private static void assertRefused(String path, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> InnerPath.check(path));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
