package org.nbdosgi.plugin.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;

class S3SettingsTest {
    @TempDir
    Path dir;

    private static S3Settings parse(String... kv) throws ConfigException {
        return parse(Map.of(), kv);
    }

    private static S3Settings parse(Map<String, String> known, String... kv) throws ConfigException {
        Map<String, String> m = new HashMap<>(Map.of("bucket", "b", "key", "disk"));
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return S3Settings.parse(new Config(m), known);
    }

    private static String refused(String... kv) {
        return assertThrows(ConfigException.class, () -> parse(kv)).getMessage();
    }

    @Test
    void defaults() throws Exception {
        S3Settings s = parse();
        assertEquals("us-east-1", s.region());
        assertEquals(-1, s.size());
        assertFalse(s.pathStyle(), "virtual-hosted buckets on AWS");
        assertTrue(parse("endpoint", "http://127.0.0.1:9000").pathStyle(), "path-style with endpoint=");
        assertEquals("s3://b/disk", s.where());
    }

    @Test
    void badValuesAreOneLineNamingTheParameter() {
        assertEquals("object-size: must be a power of 2 from 4K to 32M, got 3000", refused("size", "1M", "object-size", "3000"));
        assertEquals("object-size: only used to create a disk, together with size=", refused("object-size", "64K"));
        assertEquals("size: must be a multiple of object-size (1048576 bytes)", refused("size", "1500K"));
        assertEquals("endpoint: expected http://HOST[:PORT] or https://HOST[:PORT], got ftp://x", refused("endpoint", "ftp://x"));
        assertEquals("key: '/disk' must not start or end with /", refused("key", "/disk"));
        assertEquals("access-key: needs secret-key= too", refused("access-key", "AK"));
        assertEquals("session-token: needs access-key= and secret-key= too", refused("session-token", "T"));
        assertEquals("connections: must be at least 1", refused("connections", "0"));
    }

    @Test
    void secretsAreReadFromFilesAndNeverShown() throws Exception {
        Path file = dir.resolve("sk");
        Files.writeString(file, "s3cr3t\n");
        S3Settings s = parse("access-key", "AK", "secret-key", "+" + file);
        assertEquals("s3cr3t", s.secretKey().value());
        assertFalse(s.toString().contains("s3cr3t"), s.toString());
        assertTrue(refused("access-key", "AK", "secret-key", "+" + dir.resolve("none")).startsWith("secret-key: cannot read file "));
        Files.writeString(file, "");
        assertEquals("secret-key: file " + file + " is empty", refused("access-key", "AK", "secret-key", "+" + file));
    }

    @Test
    void aSecretReadBeforeIsNotReadAgain() throws Exception {
        // after a hot swap: standard input or a descriptor has nothing more to give
        S3Settings s = parse(Map.of("secret-key=-9", "kept"), "access-key", "AK", "secret-key", "-9");
        assertEquals("kept", s.secretKey().value());
    }
}
