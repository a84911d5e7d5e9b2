package org.nbdosgi.engine.chain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ConfigException;

class SecretValuesTest {
    @TempDir
    Path dir;

    private static SecretValues commandLine(String stdin) {
        return new SecretValues(true, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void aFileIsReadAtEachBuildWithoutItsTrailingNewline() throws Exception {
        Path pw = dir.resolve("pw");
        Files.writeString(pw, "s3cret\n");
        SecretValues s = SecretValues.withoutStandardInput();
        assertEquals("s3cret", s.value("password", "+" + pw));
        Files.writeString(pw, "rotated\r\n");
        assertEquals("rotated", s.value("password", "+" + pw), "a changed file is taken at the next build");
        assertTrue(assertThrows(ConfigException.class, () -> s.value("password", "+" + dir.resolve("none"))).getMessage()
                .startsWith("password: cannot read file "));
        assertEquals("plain", s.value("password", "plain"));
        assertEquals("+", s.value("password", "+"), "a lone + is a value");
    }

    @Test
    void standardInputIsReadOnceALinePerParameter() throws Exception {
        SecretValues s = commandLine("first\nsecond\n");
        assertEquals("first", s.value("password", "-"));
        assertEquals("second", s.value("secret-key", "-"));
        assertEquals("first", s.value("password", "-"), "a rebuild gets what was read, not the next line");
        assertTrue(assertThrows(ConfigException.class, () -> s.value("other", "-")).getMessage().contains("empty"));
    }

    @Test
    void aFileDescriptorIsReadToItsEnd() throws Exception {
        Path pw = dir.resolve("fd");
        Files.writeString(pw, "from-fd\n");
        try (FileChannel open = FileChannel.open(pw)) {
            int fd = descriptorOf(pw);
            assertEquals("from-fd", commandLine("").value("password", "-" + fd));
        }
    }

    /** The number of a descriptor this process has open on {@code file}, found through /proc/self/fd. */
    private static int descriptorOf(Path file) throws Exception {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).equals(file)) {
                        return Integer.parseInt(fd.getFileName().toString());
                    }
                } catch (java.io.IOException gone) {
                    // the listing's own descriptor
                }
            }
        }
        throw new AssertionError("no descriptor on " + file);
    }

    @Test
    void withoutACommandLineStandardInputAndDescriptorsAreRefused() {
        SecretValues s = SecretValues.withoutStandardInput();
        assertEquals("password: '-' reads standard input of the command line, which this export does not have: give password=+FILE",
                assertThrows(ConfigException.class, () -> s.value("password", "-")).getMessage());
        assertTrue(assertThrows(ConfigException.class, () -> s.value("password", "-3")).getMessage().contains("file descriptor"));
    }
}
