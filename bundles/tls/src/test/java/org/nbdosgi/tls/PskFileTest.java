package org.nbdosgi.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class PskFileTest {
    @Test
    void nbdkitFormat() throws TlsException {
        Map<String, byte[]> keys = PskFile.parse(List.of("# comment", "alice:0102ff", "", "bob:AABB"), "f");
        assertArrayEquals(new byte[] {1, 2, (byte) 0xff}, keys.get("alice"));
        assertArrayEquals(new byte[] {(byte) 0xaa, (byte) 0xbb}, keys.get("bob"));
    }

    @Test
    void errorsNameTheLineNeverTheKey() {
        TlsException e = assertThrows(TlsException.class, () -> PskFile.parse(List.of("alice:0102", "bob:secretzz"), "f"));
        assertEquals("f line 2: the key of 'bob' is not an even number of hexadecimal digits", e.getMessage());
        assertFalse(e.getMessage().contains("secret"));
        assertEquals("f line 1: expected identity:hexkey",
                assertThrows(TlsException.class, () -> PskFile.parse(List.of("alice"), "f")).getMessage());
        assertEquals("f line 2: identity 'a' appears twice",
                assertThrows(TlsException.class, () -> PskFile.parse(List.of("a:00", "a:01"), "f")).getMessage());
        assertEquals("f: no keys in it (expected identity:hexkey lines)",
                assertThrows(TlsException.class, () -> PskFile.parse(List.of("# only a comment"), "f")).getMessage());
    }
}
