package org.nbdosgi.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading the server's material, refusing what is unsafe or broken, and rotating it live. */
class TlsServerTest {
    @TempDir
    Path dir;
    TestPki pki;

    @BeforeEach
    void makePki() throws IOException {
        pki = TestPki.create(dir.resolve("pki"));
    }

    private static Loopback.Pair connect(TlsServer server, TlsContext client) throws Exception {
        return new Loopback().handshake(server::newEngine, client);
    }

    @Test
    void keyReadableByOthersIsRefused() throws Exception {
        Path key = pki.serverDir().resolve(TlsSettings.SERVER_KEY);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        TlsException e = assertThrows(TlsException.class, () -> TlsServer.start(new TlsSettings(pki.serverDir(), false, null), null));
        assertEquals(key + " is readable by other users (rw-r--r--); refusing to use it: chmod o-rwx " + key, e.getMessage());
    }

    @Test
    void pskFileReadableByOthersIsRefused() throws Exception {
        Path psk = pki.pskFile("open.psk", "alice");
        Files.setPosixFilePermissions(psk, PosixFilePermissions.fromString("rw-rw-r--"));
        TlsException e = assertThrows(TlsException.class, () -> TlsServer.start(new TlsSettings(null, false, psk), null));
        assertTrue(e.getMessage().contains("is readable by other users"), e.getMessage());
    }

    @Test
    void missingFilesAreNamed() {
        Path nowhere = dir.resolve("nowhere");
        TlsException e = assertThrows(TlsException.class, () -> TlsServer.start(new TlsSettings(nowhere, false, null), null));
        assertTrue(e.getMessage().startsWith(nowhere + ": no such directory"), e.getMessage());
        Path noCa = dir.resolve("no-ca");
        TlsException e2 = assertThrows(TlsException.class, () -> {
            Files.createDirectories(noCa);
            for (String f : new String[] {TlsSettings.SERVER_CERT, TlsSettings.SERVER_KEY}) {
                Files.copy(pki.serverDir().resolve(f), noCa.resolve(f));
            }
            TlsServer.start(new TlsSettings(noCa, true, null), null);
        });
        assertTrue(e2.getMessage().contains("ca-cert.pem: no such file (verifying clients needs the CA certificate)"), e2.getMessage());
    }

    @Test
    void keyThatDoesNotMatchTheCertificateIsRefused() throws Exception {
        Path other = dir.resolve("other");
        Files.createDirectories(other);
        pki.reissueServer(other, "other");
        Files.copy(other.resolve(TlsSettings.SERVER_KEY), pki.serverDir().resolve(TlsSettings.SERVER_KEY),
                StandardCopyOption.REPLACE_EXISTING);
        TlsException e = assertThrows(TlsException.class, () -> TlsServer.start(new TlsSettings(pki.serverDir(), false, null), null));
        assertTrue(e.getMessage().endsWith("server-key.pem: key values mismatch"), e.getMessage());
    }

    @Test
    void newCertificateServesNewHandshakesWhileOldSessionsGoOn() throws Exception {
        Path client = pki.client("alice");
        try (TlsServer server = TlsServer.start(new TlsSettings(pki.serverDir(), true, null), null);
             TlsContext c = Loopback.certificateClient(client)) {
            Loopback.Pair before = connect(server, c);
            assertEquals("subject:CN=localhost,O=nbd-osgi test", before.client().peer().identities().get(0));
            assertFalse(server.reloadIfChanged(), "nothing changed");

            pki.reissueServer(pki.serverDir(), "rotated");
            assertTrue(server.reloadIfChanged());
            try (Loopback.Pair after = connect(server, c)) {
                assertEquals("subject:CN=rotated", after.client().peer().identities().get(0));
                after.exchange();
            }
            before.exchange();                              // the session from before goes on
            before.close();
        }
    }

    @Test
    void brokenNewMaterialIsRefusedAndTheOldStays() throws Exception {
        Path client = pki.client("alice");
        try (TlsServer server = TlsServer.start(new TlsSettings(pki.serverDir(), true, null), null);
             TlsContext c = Loopback.certificateClient(client)) {
            Files.writeString(pki.serverDir().resolve(TlsSettings.SERVER_CERT), "-----BEGIN CERTIFICATE-----\ngarbage\n");
            assertFalse(server.reloadIfChanged());
            assertFalse(server.reloadIfChanged(), "the same broken state is not tried (and logged) again");
            try (Loopback.Pair p = connect(server, c)) {
                assertEquals("subject:CN=localhost,O=nbd-osgi test", p.client().peer().identities().get(0));
            }
            pki.reissueServer(pki.serverDir(), "fixed");
            assertTrue(server.reloadIfChanged(), "a repaired file is taken");
        }
    }

    @Test
    void revocationListTakesEffectForNewHandshakes() throws Exception {
        Path alice = pki.client("alice");
        Path bob = pki.client("bob");
        try (TlsServer server = TlsServer.start(new TlsSettings(pki.serverDir(), true, null), null);
             TlsContext a = Loopback.certificateClient(alice); TlsContext b = Loopback.certificateClient(bob)) {
            Loopback.Pair before = connect(server, a);
            pki.revoke(alice);
            assertTrue(server.reloadIfChanged());
            TlsException e = assertThrows(TlsException.class, () -> connect(server, a));
            assertTrue(e.getMessage().contains("certificate revoked"), e.getMessage());
            try (Loopback.Pair p = connect(server, b)) {
                p.exchange();
            }
            before.exchange();
            before.close();
        }
    }

    @Test
    void pskFileIsWatchedAndReloaded() throws Exception {
        Path psk = pki.pskFile("keys.psk", "alice");
        byte[] oldKey = PskFile.read(psk).get("alice");
        try (TlsServer server = TlsServer.start(new TlsSettings(null, false, psk), Duration.ofMillis(200));
             TlsContext old = Loopback.pskClient("alice", oldKey)) {
            connect(server, old).close();
            Path next = pki.pskFile("keys.psk.new", "alice", "bob");
            Files.move(next, psk, StandardCopyOption.REPLACE_EXISTING);
            byte[] bobKey = PskFile.read(psk).get("bob");
            try (TlsContext bob = Loopback.pskClient("bob", bobKey)) {
                waitUntil(() -> {
                    try {
                        connect(server, bob).close();
                        return true;
                    } catch (Exception e) {
                        return false;
                    }
                });
            }
            TlsException e = assertThrows(TlsException.class, () -> connect(server, old));
            assertEquals("TLS handshake failed: wrong pre-shared key for identity 'alice'", e.getMessage());
        }
    }

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met in 30 s");
            }
            Thread.sleep(100);
        }
    }
}
