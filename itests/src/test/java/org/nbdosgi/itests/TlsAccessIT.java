package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;
import org.nbdosgi.tls.TestPki;

/**
 * Who may connect, with real clients: per-export authorization of TLS identities (command line
 * and container mode), live rotation of certificates, revocation list and authorization, the
 * identity in {@code nbd:connections}, and the ip and limit filters.
 */
public class TlsAccessIT {
    private static final Duration T = Duration.ofSeconds(120);
    /** What qemu-img says for NBD_REP_ERR_POLICY with the plain text a refused client gets. */
    private static final String POLICY_REFUSAL = "Denied by server for option 7 (go)\nserver reported: export '' cannot be opened: Operation not permitted";
    private static TestPki pki;
    private static Path alice;
    private static Path carol;

    @Rule
    public TestName name = new TestName();

    @BeforeClass
    public static void makePki() throws Exception {
        Path root = Distribution.workDir("tlsa/pki");
        Tools.run(T, "rm", "-rf", root.toString()).ok();
        pki = TestPki.create(root);
        alice = pki.client("alice");
        carol = pki.client("carol");
    }

    /** A short directory per test: Unix socket paths must stay under 108 bytes wherever the build runs. */
    private Path dir() throws Exception {
        return Distribution.workDir("tlsa/" + Integer.toHexString(name.getMethodName().hashCode()));
    }

    private static String x509(String socketOrHostPort, boolean unix, String export, Path clientDir) {
        return unix ? "nbds+unix:///" + export + "?socket=" + socketOrHostPort + "&tls-certificates=" + clientDir
                : "nbds://" + socketOrHostPort + "/" + export + "?tls-certificates=" + clientDir;
    }

    private static String x509(ServerProcess s, Path clientDir) {
        return x509(s.socket().toString(), true, "", clientDir);
    }

    private static String psk(ServerProcess s, String user, Path keys) {
        return "nbds+unix://" + user + "@/?socket=" + s.socket() + "&tls-psk-file=" + keys;
    }

    private static boolean served(String uri) throws Exception {
        return Tools.run(T, "nbdinfo", "--size", uri).exit() == 0;
    }

    private static void waitUntil(String what, java.util.concurrent.Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within 30 s");
            }
            Thread.sleep(200);
        }
    }

    /** An nbdsh client that connects, reads, and holds the connection until released; then reads again. */
    private static final class Held implements AutoCloseable {
        private final Process process;
        private final Path release;
        private final Path ready;
        private final Path out;

        Held(Path dir, String uri) throws Exception {
            release = dir.resolve("release-" + System.nanoTime());
            ready = dir.resolve("ready-" + System.nanoTime());
            out = dir.resolve("held-" + System.nanoTime() + ".out");
            String script = "import os, time\n"
                    + "h.set_uri_allow_local_file(True)\n"
                    + "h.connect_uri('" + uri + "')\n"
                    + "h.pread(4096, 0)\n"
                    + "open('" + ready + "', 'w').close()\n"
                    + "while not os.path.exists('" + release + "'): time.sleep(0.05)\n"
                    + "h.pread(4096, 4096)\n"
                    + "print('still served')\n";
            ProcessBuilder pb = new ProcessBuilder("nbdsh", "-c", script).redirectErrorStream(true).redirectOutput(out.toFile());
            pb.environment().put("PATH", "/usr/bin:/bin:" + System.getenv().getOrDefault("PATH", ""));   // the Python with libnbd
            process = pb.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!Files.exists(ready)) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("nbdsh did not connect: " + Files.readString(out));
                }
                Thread.sleep(50);
            }
        }

        /** Lets the client read again and leave; what it printed. */
        String release() throws Exception {
            Files.createFile(release);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("nbdsh did not finish");
            }
            return Files.readString(out).strip();
        }

        @Override
        public void close() throws IOException {
            if (!Files.exists(release)) {
                Files.createFile(release);
            }
            process.destroy();
        }
    }

    // ---- authorization ------------------------------------------------------------------------

    @Test
    public void authorizationFileAdmitsListedPskIdentitiesAndIsReloadedLive() throws Exception {
        Path dir = dir();
        Path keys = pki.pskFile("keys-" + name.getMethodName() + ".psk", "alice", "bob");
        Path authz = dir.resolve("authz");
        Files.writeString(authz, "# who may use what\n* psk:alice\n");
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=require", "--tls-psk=" + keys, "--tls-authz=" + authz,
                "memory", "1M")) {
            assertTrue(served(psk(s, "alice", keys)));
            assertFalse(served(psk(s, "bob", keys)));
            Path qemuKeys = dir.resolve("qemu-psk");
            Files.createDirectories(qemuKeys);
            Files.copy(keys, qemuKeys.resolve("keys.psk"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Tools.Result bob = Tools.run(T, "qemu-img", "info", "--object",
                    "tls-creds-psk,id=tls0,endpoint=client,dir=" + qemuKeys + ",username=bob",
                    "--image-opts", "driver=nbd,path=" + s.socket() + ",tls-creds=tls0");
            assertNotEquals(0, bob.exit());
            assertTrue(bob.err(), bob.err().contains("server reported: access to this export is not allowed"));
            s.awaitLog("psk:bob is not allowed on export '': refused", 2);
            String list = Tools.run(T, "nbdinfo", "--list", psk(s, "bob", keys)).out();
            assertFalse("bob is not even shown the export: " + list, list.contains("export-size"));

            Files.writeString(authz.resolveSibling("authz.new"), "* psk:alice\n\"\" psk:bob\n");
            Files.move(authz.resolveSibling("authz.new"), authz, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            waitUntil("bob admitted after the file changed", () -> served(psk(s, "bob", keys)));
            assertTrue(served(psk(s, "alice", keys)));
        }
    }

    @Test
    public void statsReportBreaksDownByIdentity() throws Exception {
        Path dir = dir();
        Path keys = pki.pskFile("keys-" + name.getMethodName() + ".psk", "alice", "bob");
        Path report = dir.resolve("stats.txt");
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=require", "--tls-psk=" + keys, "--filter=stats",
                "memory", "1M", "statsfile=" + report, "statsbyidentity=true")) {
            Path data = dir.resolve("in.bin");
            byte[] bytes = new byte[1 << 20];
            new java.util.Random(5).nextBytes(bytes);
            Files.write(data, bytes);
            Tools.run(T, "nbdcopy", data.toString(), psk(s, "alice", keys)).ok();
            Tools.run(T, "nbdcopy", psk(s, "alice", keys), dir.resolve("out.bin").toString()).ok();
            assertTrue(served(psk(s, "bob", keys)));
            s.stop();
        }
        String text = Files.readString(report);
        assertTrue(text, text.matches("(?s)total: .*\n\nby client identity:\npsk:alice:\n  total: \\d+ ops, [^\n]*, 2\\.00 MiB, .*"
                + "\n  read: \\d+ ops, [^\n]*, 1\\.00 MiB, .*\n  write: \\d+ ops, [^\n]*, 1\\.00 MiB, .*\npsk:bob:\n  total: 0 ops.*"));
    }

    @Test
    public void certificateSubjectsAndAlternativeNames() throws Exception {
        Path dir = dir();
        Path authz = dir.resolve("authz");
        Files.writeString(authz, "* subject:O=Example, CN=alice\n* dns:dave.example.com\n");
        Path dave = pki.client("dave");
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=require", "--tls-certificates=" + pki.serverDir(),
                "--tls-verify-peer", "--tls-authz=" + authz, "memory", "1M")) {
            assertTrue("the subject, written in OpenSSL's order", served(x509(s, alice)));
            assertTrue("a subject alternative name", served(x509(s, dave)));
            assertFalse(served(x509(s, carol)));
            s.awaitLog("subject:CN=carol,O=Example is not allowed on export '': refused", 1);
        }
    }

    /** --tls=on: an export with an allow-list needs TLS, the others do not. */
    @Test
    public void withTlsOnAnExportWithAnAllowListIsTlsOnly() throws Exception {
        Path dir = dir();
        Path authz = dir.resolve("authz");
        Files.writeString(authz, "* subject:CN=alice,O=Example\n");
        try (ServerProcess s = ServerProcess.unix(dir, "--tls=on", "--tls-certificates=" + pki.serverDir(),
                "--tls-verify-peer", "--tls-authz=" + authz, "memory", "1M")) {
            Tools.Result plain = Tools.run(T, "qemu-img", "info", s.uri());
            assertNotEquals(0, plain.exit());
            assertTrue(plain.err(), plain.err().contains("this export requires TLS"));
            assertTrue(served(x509(s, alice)));
        }
    }

    // ---- rotation -----------------------------------------------------------------------------

    @Test
    public void certificateRevocationAndBrokenFilesRotateLiveWhileSessionsGoOn() throws Exception {
        Path dir = dir();
        Path server = dir.resolve("pki");
        Tools.run(T, "rm", "-rf", server.toString()).ok();
        Tools.run(T, "cp", "-rp", pki.serverDir().toString(), server.toString()).ok();
        Path erin = pki.client("erin");
        try (ServerProcess s = ServerProcess.unix(dir, "-v", "--tls=require", "--tls-certificates=" + server, "--tls-verify-peer",
                "memory", "1M");
             Held held = new Held(dir, x509(s, erin))) {
            // a new server certificate
            pki.reissueServer(server, "rotated");
            s.awaitLog("TLS: reloaded: certificate " + server.resolve("server-cert.pem") + " (CN=rotated", 1);
            assertTrue(served(x509(s, alice)));
            // a broken one: refused, the last good one stays
            Files.writeString(server.resolve("server-cert.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n");
            s.awaitLog("TLS: new material refused, the previous stays in use: ", 1);
            assertTrue(served(x509(s, alice)));
            // a revocation list: erin's certificate revoked
            pki.reissueServer(server, "rotated-again");
            pki.revoke(erin);
            Files.move(pki.serverDir().resolve("ca-crl.pem"), server.resolve("ca-crl.pem"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            waitUntil("erin refused", () -> !served(x509(s, erin)));
            s.awaitLog("(certificate revoked)", 1);
            assertTrue(served(x509(s, alice)));
            assertEquals("an established session goes on through every change", "still served", held.release());
        }
    }

    // ---- filters ------------------------------------------------------------------------------

    @Test
    public void ipFilterByAddressOverTcp() throws Exception {
        Path dir = dir();
        try (ServerProcess open = ServerProcess.tcp(dir, "--filter=ip", "memory", "1M", "allow=127.0.0.1", "deny=all")) {
            assertTrue(served(open.uri()));
        }
        try (ServerProcess closed = ServerProcess.tcp(dir, "--filter=ip", "memory", "1M", "deny=127.0.0.0/8")) {
            assertFalse(served(closed.uri()));
            Tools.Result r = Tools.run(T, "qemu-img", "info", closed.uri());
            assertTrue(r.err(), r.err().contains(POLICY_REFUSAL));
            closed.awaitLog("export '' refused: ip: client 127.0.0.1 refused", 2);   // the reason is for the log
        }
    }

    @Test
    public void ipFilterByPeerCredentialsOverAUnixSocket() throws Exception {
        Path dir = dir();
        String uid = Tools.run(T, "id", "-u").ok().out().strip();
        String gid = Tools.run(T, "id", "-g").ok().out().strip();
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ip", "memory", "1M", "allow=uid:" + uid, "deny=all")) {
            assertTrue(served(s.uri()));
        }
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ip", "memory", "1M", "allow=gid:" + gid, "deny=allunix")) {
            assertTrue(served(s.uri()));
        }
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=ip", "memory", "1M", "allow=uid:4242", "deny=all")) {
            Tools.Result r = Tools.run(T, "qemu-img", "info", s.uri());
            assertNotEquals(0, r.exit());
            assertTrue(r.err(), r.err().contains(POLICY_REFUSAL));
            s.awaitLog("ip: client on a Unix socket (uid " + uid + ", gid " + gid + ", pid ", 1);
        }
    }

    @Test
    public void limitFilterRefusesTheSecondClientUntilTheFirstLeaves() throws Exception {
        Path dir = dir();
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=limit", "memory", "1M")) {
            try (Held first = new Held(dir, s.uri())) {
                assertFalse(served(s.uri()));
                Tools.Result second = Tools.run(T, "qemu-img", "info", s.uri());
                assertTrue(second.err(), second.err().contains(POLICY_REFUSAL));
                s.awaitLog("limit: too many clients connected (limit=1)", 2);
                assertEquals("still served", first.release());
            }
            waitUntil("the place freed", () -> served(s.uri()));
        }
    }

    /**
     * The ip filter dropped into deploy/ of a running container goes into a live export: a rule that
     * would lock out a connected client is refused (nothing changes) unless forced, which
     * disconnects that client; new clients are then refused, and served again once it is removed.
     */
    @Test
    public void ipFilterHotDeployedIntoALiveExportLocksConnectedClientsOutOnlyWhenForced() throws Exception {
        Path dir = dir();
        try (Instance in = Instance.copy(dir)) {
            Path staged = in.home().resolve("filter-ip.jar");
            Files.move(in.bundles().resolve("filter-ip.jar"), staged);
            in.start();
            String uri = in.uri("");
            assertFalse(in.client("nbd:filters").out().lines().anyMatch(l -> l.startsWith("ip ")));
            try (Held held = new Held(dir, uri)) {
                Files.copy(staged, in.deploy().resolve("filter-ip.jar"));
                waitUntil("the ip filter deployed", () -> in.client("nbd:filters").out().lines().anyMatch(l -> l.startsWith("ip ")));

                Tools.Result refused = in.client("nbd:filter-insert", "\"\"", "ip", "deny=127.0.0.0/8");
                assertEquals(refused.out() + refused.err(), 1, refused.exit());
                assertTrue(refused.err(), refused.err().contains("cannot reopen: ip: client 127.0.0.1 refused")
                        && refused.err().contains("--force"));
                assertTrue("a refused change changes nothing", served(uri));

                in.client("nbd:filter-insert", "--force", "\"\"", "ip", "deny=127.0.0.0/8").ok();
                assertNotEquals("the connected client was disconnected", "still served", held.release());
            }
            Tools.Result r = Tools.run(T, "qemu-img", "info", uri);
            assertNotEquals(0, r.exit());
            assertTrue(r.err(), r.err().contains(POLICY_REFUSAL));
            in.awaitLog(Duration.ofSeconds(30), "export '' refused: ip: client 127.0.0.1 refused", 1);
            assertTrue(Files.readString(in.etc().resolve("org.nbdosgi.export-default.cfg")).contains("filters = ip"));

            in.client("nbd:filter-remove", "\"\"", "ip").ok();
            assertTrue("served again without the filter", served(uri));
        }
    }

    // ---- container mode -----------------------------------------------------------------------

    @Test
    public void containerModeTlsSettingsAndAllowListsApplyLive() throws Exception {
        Path dir = dir();
        try (Instance in = Instance.copy(dir)) {
            Path props = in.etc().resolve("config.properties");
            Files.writeString(props, Files.readString(props) + "\nnbd.tls = require\nnbd.tls.certificates = "
                    + pki.serverDir() + "\nnbd.tls.verify-peer = true\n");
            Files.writeString(in.etc().resolve("org.nbdosgi.export-secret.cfg"),
                    "name = secret\nplugin = memory\nsize = 1M\ntls.allow = subject:CN=alice,O=Example\n");
            in.start();
            String hostPort = in.uri("").substring("nbd://".length(), in.uri("").length() - 1);
            assertFalse("plaintext refused", served(in.uri("")));
            assertTrue(served(x509(hostPort, false, "", carol)));
            assertTrue(served(x509(hostPort, false, "secret", alice)));
            assertFalse(served(x509(hostPort, false, "secret", carol)));
            in.awaitLog(Duration.ofSeconds(30), "subject:CN=carol,O=Example is not allowed on export 'secret'", 1);

            try (Held held = new Held(dir, x509(hostPort, false, "secret", alice))) {
                String conns = in.client("nbd:connections").out();
                assertTrue(conns, conns.matches("(?s).*TLS\\s+CIPHER\\s+IDENTITY.*secret.*TLSv1\\.3\\s+TLS_AES_256_GCM_SHA384\\s+subject:CN=alice,O=Example.*"));
                assertEquals("still served", held.release());
            }

            // the allow-list edited live: carol too
            Files.writeString(in.etc().resolve("org.nbdosgi.export-secret.cfg"),
                    "name = secret\nplugin = memory\nsize = 1M\ntls.allow = subject:CN=alice,O=Example; subject:CN=carol,O=Example\n");
            waitUntil("carol admitted", () -> served(x509(hostPort, false, "secret", carol)));

            // TLS relaxed live in config.properties: plaintext now served where no allow-list needs TLS
            Files.writeString(props, Files.readString(props).replace("nbd.tls = require", "nbd.tls = on"));
            waitUntil("plaintext served", () -> served(in.uri("")));
            Tools.Result secret = Tools.run(T, "qemu-img", "info", in.uri("secret"));
            assertTrue(secret.err(), secret.err().contains("this export requires TLS"));
            // and a broken setting is refused, the last one stays
            Files.writeString(props, Files.readString(props).replace("nbd.tls = on", "nbd.tls = sometimes"));
            in.awaitLog(Duration.ofSeconds(30), "new TLS settings refused, the previous stay in force", 1);
            assertTrue(served(in.uri("")));
        }
    }

    @Test
    public void aKeyReadableByOthersStopsTheServerWithOneLine() throws Exception {
        Path dir = dir();
        Path server = dir.resolve("pki");
        Tools.run(T, "rm", "-rf", server.toString()).ok();
        Tools.run(T, "cp", "-rp", pki.serverDir().toString(), server.toString()).ok();
        Tools.run(T, "chmod", "644", server.resolve("server-key.pem").toString()).ok();
        Tools.Result r = Tools.run(T, ServerProcess.launcher().toString(), "-f", "-U", dir.resolve("s.sock").toString(),
                "--tls=require", "--tls-certificates=" + server, "memory", "1M");
        assertEquals(1, r.exit());
        assertEquals("nbd-osgi: " + server.resolve("server-key.pem") + " is readable by other users (rw-r--r--); refusing to use it: chmod o-rwx "
                + server.resolve("server-key.pem"), r.err().strip());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size());
    }
}
