package org.nbdosgi.tls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates and keys made for a test with certtool (gnutls-bin), as nbdkit-tls(1) describes:
 * a CA, a server certificate for localhost, client certificates (good, expired, revoked, from
 * another CA) in the directory layout libnbd and qemu read ({@code ca-cert.pem},
 * {@code client-cert.pem}, {@code client-key.pem}), and PSK files. ECDSA keys: quick to make.
 * Shared with the interop tests (this module's test jar), so it names nbdkit's files itself.
 */
public final class TestPki {
    private final Path root;
    private final Path server;
    private final Path caKey;
    private final Path caCert;
    private final List<Path> revoked = new ArrayList<>();

    private TestPki(Path root) {
        this.root = root;
        this.server = root.resolve("server");
        this.caKey = root.resolve("ca/ca-key.pem");
        this.caCert = root.resolve("ca/ca-cert.pem");
    }

    /** A CA and a server certificate for localhost / 127.0.0.1 / ::1 under {@code root}. */
    public static TestPki create(Path root) throws IOException {
        TestPki p = new TestPki(root);
        Files.createDirectories(p.server);
        Files.createDirectories(p.caCert.getParent());
        p.makeCa(p.caKey, p.caCert, "nbd-osgi test CA");
        Files.copy(p.caCert, p.server.resolve("ca-cert.pem"));
        p.issue(p.server.resolve("server-key.pem"), p.server.resolve("server-cert.pem"), """
                organization = nbd-osgi test
                cn = localhost
                dns_name = localhost
                ip_address = 127.0.0.1
                ip_address = ::1
                tls_www_server
                signing_key
                encryption_key
                expiration_days = 30
                """, p.caKey, p.caCert);
        return p;
    }

    /** The server's directory for {@code --tls-certificates}. */
    public Path serverDir() {
        return server;
    }

    public Path caCertificate() {
        return caCert;
    }

    /** A client directory (CN={@code name}, O=Example, SAN dns:{@code name}.example.com) signed by the CA. */
    public Path client(String name) throws IOException {
        return clientDir(name, validity(30), caKey, caCert);
    }

    /** A client whose certificate expired in 2020. */
    public Path expiredClient(String name) throws IOException {
        return clientDir(name, """
                activation_date = "2019-01-01 00:00:00 UTC"
                expiration_date = "2020-01-01 00:00:00 UTC"
                """, caKey, caCert);
    }

    /** A client whose certificate was signed by a CA of its own, which the server does not know. */
    public Path foreignClient(String name) throws IOException {
        Path other = root.resolve("other-ca");
        Files.createDirectories(other);
        Path key = other.resolve("ca-key.pem");
        Path cert = other.resolve("ca-cert.pem");
        if (!Files.exists(cert)) {
            makeCa(key, cert, "some other CA");
        }
        Path dir = clientDir(name, validity(30), key, cert);
        Files.copy(caCert, dir.resolve("ca-cert.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return dir;                                           // it trusts our server, not the other way round
    }

    /** Revokes a client's certificate: writes the CA's revocation list into the server directory. */
    public void revoke(Path clientDir) throws IOException {
        revoked.add(clientDir.resolve("client-cert.pem"));
        Path template = write(root.resolve("crl.info"), "crl_next_update = 30\ncrl_number = " + revoked.size() + "\n");
        List<String> cmd = new ArrayList<>(List.of("certtool", "--generate-crl", "--load-ca-privkey", caKey.toString(),
                "--load-ca-certificate", caCert.toString(), "--template", template.toString()));
        for (Path c : revoked) {
            cmd.add("--load-certificate");
            cmd.add(c.toString());
        }
        Path tmp = root.resolve("ca-crl.pem.tmp");
        cmd.addAll(List.of("--outfile", tmp.toString()));
        run(cmd);
        Files.move(tmp, server.resolve("ca-crl.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** A PSK file (mode 0600) with a random 32-byte key for each identity. */
    public Path pskFile(String name, String... identities) throws IOException {
        StringBuilder b = new StringBuilder();
        SecureRandom random = new SecureRandom();
        for (String id : identities) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            b.append(id).append(':').append(HexFormat.of().formatHex(key)).append('\n');
        }
        Path f = root.resolve(name);
        Files.deleteIfExists(f);
        Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, b);
        return f;
    }

    /** A fresh server certificate (another serial, same subject) with a key of its own, into {@code dir}. */
    public void reissueServer(Path dir, String cn) throws IOException {
        Path key = dir.resolve("server-key.pem" + ".new");
        Path cert = dir.resolve("server-cert.pem" + ".new");
        issue(key, cert, "cn = " + cn + "\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nsigning_key\n"
                + "expiration_days = 30\n", caKey, caCert);
        Files.move(key, dir.resolve("server-key.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.move(cert, dir.resolve("server-cert.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static String validity(int days) {
        return "expiration_days = " + days + "\n";
    }

    private Path clientDir(String name, String validity, Path signKey, Path signCert) throws IOException {
        Path dir = root.resolve("client-" + name + "-" + System.nanoTime());
        Files.createDirectories(dir);
        Files.copy(caCert, dir.resolve("ca-cert.pem"));
        issue(dir.resolve("client-key.pem"), dir.resolve("client-cert.pem"), "cn = " + name + "\norganization = Example\n"
                + "dns_name = " + name + ".example.com\ntls_www_client\nsigning_key\nencryption_key\n" + validity,
                signKey, signCert);
        return dir;
    }

    private void makeCa(Path key, Path cert, String cn) throws IOException {
        privateKey(key);
        Path template = write(root.resolve("ca.info"), "cn = " + cn + "\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 60\n");
        run(List.of("certtool", "--generate-self-signed", "--load-privkey", key.toString(), "--template",
                template.toString(), "--outfile", cert.toString()));
    }

    private void issue(Path key, Path cert, String template, Path signKey, Path signCert) throws IOException {
        privateKey(key);
        Path t = write(root.resolve("cert.info"), template);
        run(List.of("certtool", "--generate-certificate", "--load-privkey", key.toString(), "--load-ca-certificate",
                signCert.toString(), "--load-ca-privkey", signKey.toString(), "--template", t.toString(),
                "--outfile", cert.toString()));
    }

    private void privateKey(Path key) throws IOException {
        Files.deleteIfExists(key);
        Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        run(List.of("certtool", "--generate-privkey", "--key-type=ecdsa", "--outfile", key.toString()));
    }

    private static Path write(Path file, String text) throws IOException {
        Files.writeString(file, text);
        return file;
    }

    private void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(root.resolve("certtool.log").toFile()).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + Files.readString(root.resolve("certtool.log")));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
