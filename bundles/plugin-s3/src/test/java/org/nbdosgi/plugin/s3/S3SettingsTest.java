package org.nbdosgi.plugin.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

class S3SettingsTest {
    private static S3Settings parse(String... kv) throws ConfigException {
        Map<String, String> m = new HashMap<>(Map.of("bucket", "b", "key", "disk"));
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return S3Settings.parse(new Config(m));
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
    void secretsAreLeftToTheEngineAndNeverShown() throws Exception {
        // declared secret: the engine reads -, -FD and +FILE, hides the value in nbd:exports and the log,
        // and writes only the reference to etc/ (S3InteropIT: +FILE, -FD and - end to end)
        assertEquals(List.of("secret-key", "session-token"),
                S3Settings.parameters().stream().filter(Parameter::secret).map(Parameter::name).toList());
        S3Settings s = parse("access-key", "AK", "secret-key", "s3cr3t", "session-token", "t0k3n");
        assertEquals("s3cr3t", s.secretKey().value());
        assertEquals("t0k3n", s.sessionToken().value());
        assertFalse(s.toString().contains("s3cr3t") || s.toString().contains("t0k3n"), s.toString());
        assertEquals("+s3cr3t", parse("access-key", "AK", "secret-key", "+s3cr3t").secretKey().value(),
                "what arrives is the value: the layer resolves nothing again");
        assertEquals("secret-key: is empty", refused("access-key", "AK", "secret-key", ""));
    }
}
