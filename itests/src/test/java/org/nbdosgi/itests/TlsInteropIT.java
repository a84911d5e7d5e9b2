package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;
import org.nbdosgi.tls.TestPki;

/**
 * TLS through the assembled runtime with the real clients: libnbd's (nbdinfo, nbdcopy, nbdsh, fio;
 * GnuTLS) and qemu's, with X.509 certificates and pre-shared keys, over Unix sockets and TCP. Each
 * data test copies random bytes in and out and compares them; each refusal is asserted at the
 * client and in the server's log, once, while other clients go on being served. Certificates
 * and keys are made for the run with certtool.
 */
public class TlsInteropIT {
    private static final Duration T = Duration.ofSeconds(120);
    private static TestPki pki;
    private static Path alice;

    @Rule
    public TestName name = new TestName();

    @BeforeClass
    public static void makePki() throws Exception {
        Path root = Distribution.workDir("tls/pki");
        Tools.run(T, "rm", "-rf", root.toString()).ok();
        pki = TestPki.create(root);
        alice = pki.client("alice");
    }

    /** A short directory per test: Unix socket paths must stay under 108 bytes wherever the build runs. */
    private Path dir() throws Exception {
        return Distribution.workDir("tls/" + Integer.toHexString(name.getMethodName().hashCode()));
    }

    private static Path randomFile(Path dir, int bytes, long seed) throws IOException {
        byte[] b = new byte[bytes];
        new Random(seed).nextBytes(b);
        Path f = dir.resolve("data-" + seed + ".bin");
        Files.write(f, b);
        return f;
    }

    /** An nbds URI for a libnbd client with the certificates in {@code clientDir}. */
    private static String x509(ServerProcess s, Path clientDir) {
        return s.socket() != null
                ? "nbds+unix:///?socket=" + s.socket() + "&tls-certificates=" + clientDir
                : "nbds://127.0.0.1:" + s.port() + "/?tls-certificates=" + clientDir;
    }

    /** An nbds URI for a libnbd client with PSK identity {@code user} from {@code pskFile}. */
    private static String psk(ServerProcess s, String user, Path pskFile) {
        return s.socket() != null
                ? "nbds+unix://" + user + "@/?socket=" + s.socket() + "&tls-psk-file=" + pskFile
                : "nbds://" + user + "@127.0.0.1:" + s.port() + "/?tls-psk-file=" + pskFile;
    }

    /** qemu's tls-creds-psk wants a directory with keys.psk in it. */
    private static Path qemuPskDir(Path dir, Path pskFile) throws IOException {
        Path d = dir.resolve("qemu-psk");
        Files.createDirectories(d);
        Files.copy(pskFile, d.resolve("keys.psk"), StandardCopyOption.REPLACE_EXISTING);
        return d;
    }

    private static String qemuTarget(ServerProcess s) {
        return s.socket() != null ? "driver=nbd,path=" + s.socket() + ",tls-creds=tls0"
                : "driver=nbd,host=127.0.0.1,port=" + s.port() + ",tls-creds=tls0";
    }

    // ---- data over TLS, each client ---------------------------------------------------------

    @Test
    public void x509WithClientCertificatesOverUnixSocket_nbdcopyNbdinfoNbdsh() throws Exception {
        Path dir = dir();
        Path data = randomFile(dir, 24 << 20, 1);
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=require", "--tls-certificates=" + pki.serverDir(),
                "--tls-verify-peer", "memory", "32M")) {
            String uri = x509(s, alice);
            String info = Tools.run(T, "nbdinfo", uri).ok().out();
            assertTrue(info, info.contains("newstyle-fixed with TLS"));
            Tools.run(T, "nbdcopy", data.toString(), uri).ok();
            Path back = dir.resolve("back.bin");
            Tools.run(T, "nbdcopy", "--connections=4", uri, back.toString()).ok();
            Tools.run(T, "cmp", "-n", Long.toString(Files.size(data)), data.toString(), back.toString()).ok();
            String sum = Tools.run(T, "nbdsh", "-c", "h.set_uri_allow_local_file(True)", "-c", "h.connect_uri('" + uri + "')",
                    "-c", "import hashlib; print(hashlib.sha256(h.pread(1 << 20, 5 << 20)).hexdigest())").ok().out();
            String expected = Tools.run(T, "sh", "-c", "dd if=" + data + " bs=1M skip=5 count=1 status=none | sha256sum").ok().out();
            assertEquals(expected.split(" ")[0], sum.strip());
        }
    }

    @Test
    public void pskOverTcp_nbdcopyAndQemuImg() throws Exception {
        Path dir = dir();
        Path keys = pki.pskFile("keys-" + name.getMethodName() + ".psk", "alice", "bob");
        Path data = randomFile(dir, 16 << 20, 2);
        try (ServerProcess s = ServerProcess.tcp(dir, "--tls=require", "--tls-psk=" + keys, "memory", "16M")) {
            String uri = psk(s, "bob", keys);
            Tools.run(T, "nbdcopy", data.toString(), uri).ok();
            Path back = dir.resolve("back.bin");
            Tools.run(T, "nbdcopy", uri, back.toString()).ok();
            Tools.run(T, "cmp", data.toString(), back.toString()).ok();
            // qemu-img through tls-creds-psk: the same bytes, then new ones written back by qemu
            String creds = "tls-creds-psk,id=tls0,endpoint=client,dir=" + qemuPskDir(dir, keys) + ",username=alice";
            Tools.run(T, "qemu-img", "compare", "--object", creds, "--image-opts", "driver=file,filename=" + data, qemuTarget(s)).ok();
            Path other = randomFile(dir, 16 << 20, 3);
            Tools.run(T, "qemu-img", "convert", "-n", "--object", creds, "-f", "raw", other.toString(),
                    "--target-image-opts", qemuTarget(s)).ok();
            Tools.run(T, "nbdcopy", uri, back.toString()).ok();
            Tools.run(T, "cmp", other.toString(), back.toString()).ok();
        }
    }

    @Test
    public void qemuImgWithX509CredentialsOverTcp() throws Exception {
        Path dir = dir();
        Path data = randomFile(dir, 8 << 20, 4);
        try (ServerProcess s = ServerProcess.tcp(dir, "--tls=require", "--tls-certificates=" + pki.serverDir(),
                "--tls-verify-peer", "memory", "8M")) {
            String creds = "tls-creds-x509,id=tls0,endpoint=client,dir=" + alice;
            Tools.run(T, "qemu-img", "convert", "-n", "--object", creds, "-f", "raw", data.toString(),
                    "--target-image-opts", qemuTarget(s)).ok();
            Tools.run(T, "qemu-img", "compare", "--object", creds, "--image-opts", "driver=file,filename=" + data, qemuTarget(s)).ok();
            Path back = dir.resolve("back.bin");
            Tools.run(T, "nbdcopy", x509(s, alice), back.toString()).ok();
            Tools.run(T, "cmp", data.toString(), back.toString()).ok();
        }
    }

    /**
     * fio's nbd engine takes no certificate path in its URI (libnbd refuses local files there):
     * libnbd reads ~/.pki/libnbd, or /etc/pki/libnbd as root, which a test must not touch; so the
     * server asks for no client certificate here.
     */
    @Test
    public void fioWritesAndVerifiesOverNbdsUnix() throws Exception {
        Path dir = dir();
        Path home = dir.resolve("home");
        Path pkiDir = home.resolve(".pki/libnbd");
        Files.createDirectories(pkiDir);
        for (String f : List.of("ca-cert.pem", "client-cert.pem", "client-key.pem")) {
            Files.copy(alice.resolve(f), pkiDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=require", "--tls-certificates=" + pki.serverDir(),
                "memory", "64M")) {
            Tools.Result r = Tools.run(T, Map.of("HOME", home.toString()), List.of("fio", "--name=tls", "--ioengine=nbd",
                    "--uri=nbds+unix:///?socket=" + s.socket(), "--rw=randwrite", "--bs=4k", "--iodepth=16", "--size=32M",
                    "--verify=crc32c", "--do_verify=1", "--verify_fatal=1", "--randrepeat=0")).ok();
            assertFalse(r.out(), r.out().contains("verify:") && r.out().contains("bad"));
            assertTrue(r.out(), r.out().contains("WRITE:") && r.out().contains("READ:"));
            s.awaitLog("TLS handshake failed", 0);
        }
    }

    @Test
    public void captiveModeUriIsNbdsWithTheCertificates() throws Exception {
        Path dir = dir();
        Path out = dir.resolve("out.txt");
        Tools.Result r = Tools.run(T, ServerProcess.launcher().toString(), "-U", "-", "--tls=require",
                "--tls-certificates=" + pki.serverDir(), "memory", "1M",
                "--run", "echo \"$uri $tls\" > " + out + "; nbdinfo --size \"$uri\" >> " + out).ok();
        String[] lines = Files.readString(out).split("\n");
        assertTrue(lines[0], lines[0].matches("nbds\\+unix:///\\?socket=\\S+&tls-certificates=" + pki.serverDir() + " 2"));
        assertEquals(r.err(), "1048576", lines[1]);
    }

    /**
     * Over TCP with a PSK the URI is nbds:// and names the key file (nbdkit 1.32 names none). The
     * client says which identity it is (libnbd would otherwise take the login name, which a process
     * without a terminal has not got).
     */
    @Test
    public void captiveModeOverTcpWithPskIsNbdsWithTheKeyFile() throws Exception {
        Path dir = dir();
        Path keys = pki.pskFile("captive-" + name.getMethodName() + ".psk", "alice");
        Path out = dir.resolve("out.txt");
        int port = Tools.freePort();
        Tools.Result r = Tools.run(T, ServerProcess.launcher().toString(), "-p", Integer.toString(port), "--tls=require",
                "--tls-psk=" + keys, "memory", "2M",
                "--run", "echo \"$uri $tls\" > " + out + "; PATH=/usr/bin:$PATH nbdsh -c \"h.set_tls_username('alice')\" -c 'h.set_uri_allow_local_file(True)' "
                        + "-c \"h.connect_uri('$uri')\" -c 'print(h.get_size())' >> " + out).ok();
        String[] lines = Files.readString(out).split("\n");
        assertEquals("nbds://localhost:" + port + "?tls-psk-file=" + keys + " 2", lines[0]);
        assertEquals(r.err(), "2097152", lines[1]);
    }

    // ---- refusals -----------------------------------------------------------------------------

    @Test
    public void plaintextClientAgainstRequireIsRefusedAndLoggedOnce() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "--tls=require", "--tls-certificates=" + pki.serverDir(), "memory", "1M")) {
            Tools.Result r = Tools.run(T, "qemu-img", "info", s.uri());
            assertNotEquals(0, r.exit());
            assertTrue(r.err(), r.err().contains("TLS is required"));
            r = Tools.run(T, "nbdinfo", "--list", s.uri());
            assertNotEquals("not even the export list", 0, r.exit());
            s.awaitLog("before TLS, which this server requires", 2);     // one line per connection
            assertTrue(Tools.run(T, "nbdinfo", "--size", x509(s, alice)).ok().out().contains("1048576"));
        }
    }

    @Test
    public void certificatesTheServerMustNotAcceptAreRefused() throws Exception {
        Path foreign = pki.foreignClient("eve");
        Path expired = pki.expiredClient("old");
        try (ServerProcess s = ServerProcess.unix(dir(), "--tls=require", "--tls-certificates=" + pki.serverDir(),
                "--tls-verify-peer", "memory", "1M")) {
            // GnuTLS does not even send a certificate the server's CA did not sign (our own client
            // does: TlsChannelTest sees it refused for its issuer)
            assertNotEquals(0, Tools.run(T, "nbdinfo", x509(s, foreign)).exit());
            s.awaitLog("TLS handshake failed: peer did not return a certificate", 1);
            assertNotEquals(0, Tools.run(T, "nbdinfo", x509(s, expired)).exit());
            s.awaitLog("(certificate has expired)", 1);
            Path noCert = dir().resolve("ca-only");
            Files.createDirectories(noCert);
            Files.copy(pki.caCertificate(), noCert.resolve("ca-cert.pem"), StandardCopyOption.REPLACE_EXISTING);
            assertNotEquals(0, Tools.run(T, "nbdinfo", x509(s, noCert)).exit());
            s.awaitLog("peer did not return a certificate", 2);
            s.awaitLog("TLS handshake failed", 3);                       // once per refused client
            assertTrue(Tools.run(T, "nbdinfo", "--size", x509(s, alice)).ok().out().contains("1048576"));
        }
    }

    @Test
    public void wrongPskAndUnknownIdentityAreRefused() throws Exception {
        Path dir = dir();
        Path keys = pki.pskFile("server-" + name.getMethodName() + ".psk", "alice");
        Path wrong = pki.pskFile("wrong-" + name.getMethodName() + ".psk", "alice", "mallory");
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=require", "--tls-psk=" + keys, "memory", "1M")) {
            assertNotEquals(0, Tools.run(T, "nbdinfo", psk(s, "alice", wrong)).exit());
            s.awaitLog("TLS handshake failed: wrong pre-shared key for identity 'alice'", 1);
            assertNotEquals(0, Tools.run(T, "nbdinfo", psk(s, "mallory", wrong)).exit());
            s.awaitLog("TLS handshake failed: unknown PSK identity 'mallory'", 1);
            assertTrue(Tools.run(T, "nbdinfo", "--size", psk(s, "alice", keys)).ok().out().contains("1048576"));
            String log = s.log();
            assertFalse("a key never lands in the log", log.contains(Files.readString(keys).split(":")[1].strip()));
        }
    }

    @Test
    public void aClientThatStallsInTheTlsHandshakeIsCutOffAndOthersAreServed() throws Exception {
        Path dir = dir();
        try (ServerProcess s = ServerProcess.unix(dir, Map.of("NBD_OSGI_JAVA_OPTS", "-Dnbd.handshake.timeout=5s"),
                "-v", "--tls=require", "--tls-certificates=" + pki.serverDir(), "memory", "1M");
             NbdClient stalled = NbdClient.unix(s.socket())) {
            assertEquals(NbdClient.REP_ACK, stalled.option(NbdClient.OPT_STARTTLS, new byte[0]).get(0).type());
            // meanwhile others are served
            assertTrue(Tools.run(T, "nbdinfo", "--size", x509(s, alice)).ok().out().contains("1048576"));
            assertTrue("the stalled client is cut off after the timeout", stalled.isClosedByServer(30_000));
            // the connection's handshake deadline covers the TLS handshake: one line, from it
            String log = s.awaitLog("handshake not finished within 5 s, disconnected", 1);
            assertTrue(log, log.contains("connection 1 closed"));   // its thread and TLS state are gone
        }
    }

    @Test
    public void garbageInsteadOfAClientHelloEndsTheConnection() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir(), "--tls=on", "--tls-certificates=" + pki.serverDir(), "memory", "1M");
             NbdClient c = NbdClient.unix(s.socket())) {
            assertEquals(NbdClient.REP_ACK, c.option(NbdClient.OPT_STARTTLS, new byte[0]).get(0).type());
            c.write(ByteBuffer.wrap("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            c.readWithin(4096, 2000);                        // the alert, if any
            assertTrue(c.isClosedByServer(30_000));
            s.awaitLog("TLS handshake failed: ", 1);
            assertTrue("--tls=on still serves plaintext", Tools.run(T, "nbdinfo", "--size", s.uri()).ok().out().contains("1048576"));
        }
    }
}
