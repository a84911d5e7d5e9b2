package org.nbdosgi.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class TlsAuthorizationTest {
    private static final List<String> LAPTOP = List.of("subject:O=Example,CN=laptop", "dns:laptop.example.com");

    @Test
    void rulesPerExportAndForEveryExport() throws TlsException {
        TlsAuthorization a = TlsAuthorization.parse(List.of(
                "# export  identity",
                "disk1  psk:alice",
                "disk1  subject: CN=laptop, O=Example",
                "",
                "*      psk:admin",
                "\"\"     dns:Backup.Example.COM"), "authz");
        assertTrue(TlsAuthorization.matches(a.rulesFor("disk1"), List.of("psk:alice")));
        assertTrue(TlsAuthorization.matches(a.rulesFor("disk1"), LAPTOP), "DNs compare as names, not strings");
        assertTrue(TlsAuthorization.matches(a.rulesFor("disk1"), List.of("psk:admin")));
        assertFalse(TlsAuthorization.matches(a.rulesFor("disk1"), List.of("psk:bob")));
        assertFalse(TlsAuthorization.matches(a.rulesFor("disk1"), List.of()), "an anonymous client matches nothing");
        assertFalse(TlsAuthorization.matches(a.rulesFor("disk2"), List.of("psk:alice")));
        assertTrue(TlsAuthorization.matches(a.rulesFor(""), List.of("subject:CN=x", "dns:backup.example.com")));
        assertEquals(List.of(), TlsAuthorization.NONE.rulesFor("disk1"));
    }

    @Test
    void listFromAConfigurationValue() throws TlsException {
        List<String> allowed = TlsAuthorization.parseList("psk:alice; subject:CN=laptop,O=Example ;", "tls.allow");
        assertTrue(TlsAuthorization.matches(allowed, LAPTOP));
        assertTrue(TlsAuthorization.matches(allowed, List.of("psk:alice")));
        assertFalse(TlsAuthorization.matches(allowed, List.of("psk:Alice")), "PSK identities are exact");
    }

    @Test
    void badLinesAreNamed() {
        assertEquals("f line 2: expected EXPORT IDENTITY",
                assertThrows(TlsException.class, () -> TlsAuthorization.parse(List.of("# x", "disk1"), "f")).getMessage());
        assertEquals("f line 1: unknown identity kind 'user' (psk:, subject:, dns:, email:, uri:, ip:)",
                assertThrows(TlsException.class, () -> TlsAuthorization.parse(List.of("d user:x"), "f")).getMessage());
        assertTrue(assertThrows(TlsException.class, () -> TlsAuthorization.parse(List.of("d subject:==="), "f"))
                .getMessage().startsWith("f line 1: '===' is not a distinguished name"));
        assertEquals("f line 1: 'alice' is not KIND:VALUE (psk:, subject:, dns:, email:, uri:, ip:)",
                assertThrows(TlsException.class, () -> TlsAuthorization.parse(List.of("d alice"), "f")).getMessage());
    }
}
