package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * What an outside conformance run (libnbd in strict mode, the NBD project's test client, a protocol
 * fuzzer) found, each finding reproduced with a real client or the raw protocol, side by side with
 * nbdkit where the spec leaves the answer to the server.
 */
public class ConformanceIT {
    private static final Duration T = Duration.ofSeconds(120);
    private static ServerProcess server;

    @BeforeClass
    public static void start() throws Exception {
        server = ServerProcess.unix(Distribution.workDir("ConformanceIT/memory"), "memory", "128M");
    }

    @AfterClass
    public static void stop() throws Exception {
        server.close();
    }

    /** Runs nbdkit's memory plugin on a Unix socket with {@code script} as nbdsh's -c (the socket in $uri). */
    private static Tools.Result underNbdkit(Path dir, String script) throws Exception {
        Tools.require("nbdkit");
        Path sock = dir.resolve("nbdkit.sock");
        Files.deleteIfExists(sock);
        return Tools.run(T, Map.of("SCRIPT", script), List.of("nbdkit", "-U", sock.toString(), "memory", "64M",
                "--run", "nbdsh -u \"$uri\" -c \"$SCRIPT\""));
    }

    /** An nbdsh snippet that prints, for each zero-length request, the errno name it failed with (or ok). */
    private static final String ZERO_LENGTH = String.join("\n",
            "import errno",
            "h.set_strict_mode(0)",
            "def outcome(f):",
            "    try:",
            "        f()",
            "        return 'ok'",
            "    except nbd.Error as e:",
            "        return errno.errorcode.get(e.errnum, str(e.errnum))",
            "print(h.get_structured_replies_negotiated())",
            "print(outcome(lambda: h.pread(0, 0)), outcome(lambda: h.pwrite(b'', 0)), outcome(lambda: h.trim(0, 0)),",
            "      outcome(lambda: h.zero(0, 0)), outcome(lambda: h.cache(0, 0)),",
            "      outcome(lambda: h.block_status(0, 0, lambda *a: 0)), outcome(lambda: h.pread(4096, 0)))",
            "print(len(h.pread(512, 4096)))");

    /** Item 2: no malformed reply to a zero-length request; the connection goes on; nbdkit's answers. */
    @Test
    public void zeroLengthRequestsGetNbdkitsErrorsAndTheConnectionGoesOn() throws Exception {
        Tools.Result ours = Tools.nbdsh(server.uri(), ZERO_LENGTH).ok();
        assertEquals("True\nEINVAL ENOSPC EINVAL ENOSPC EINVAL EINVAL ok\n512\n", ours.out());
        Tools.Result nbdkit = underNbdkit(Distribution.workDir("ConformanceIT/zero-length"), ZERO_LENGTH).ok();
        assertEquals(nbdkit.out(), ours.out());
    }

    /** Item 2: the spec reserves a flush's offset and length as zero; nbdkit refuses others with EINVAL. */
    @Test
    public void aFlushWithAnOffsetOrLengthIsEinval() throws Exception {
        try (NbdClient c = NbdClient.unix(server.socket())) {
            c.structuredReplies();
            c.go("");
            c.send(NbdClient.CMD_FLUSH, 0, 4096, 0, null);
            assertEquals(NbdClient.EINVAL, c.receive(0, 0).error);
            c.send(NbdClient.CMD_FLUSH, 0, 0, 512, null);
            assertEquals(NbdClient.EINVAL, c.receive(0, 0).error);
            c.flush();
            c.write(0, new byte[] {4, 2}, 0);
            assertArrayEquals(new byte[] {4, 2}, c.read(0, 2));
        }
    }

    /**
     * Item 1: the NBD project's integrityhuge test sends reads and writes of up to about 48 MiB
     * with NBD_OPT_EXPORT_NAME (no block sizes negotiated); nbdkit takes up to 64 MiB. Several in
     * flight at once, as that test has them.
     */
    @Test
    public void requestsOfUpTo64MiBWithoutNegotiatedBlockSizesAreServed() throws Exception {
        try (NbdClient c = NbdClient.unix(server.socket())) {
            c.exportName("");
            int big = 48 << 20;
            byte[] a = new byte[big];
            byte[] b = new byte[64 << 20];
            new java.util.Random(1).nextBytes(a);
            new java.util.Random(2).nextBytes(b);
            long first = c.send(NbdClient.CMD_WRITE, 0, 0, big, a);
            long second = c.send(NbdClient.CMD_WRITE, 0, 64 << 20, b.length, b);
            java.util.Set<Long> done = new java.util.HashSet<>();
            for (int i = 0; i < 2; i++) {
                NbdClient.Reply r = c.receive(0, 0);
                assertEquals(0, r.error);
                done.add(r.cookie);
            }
            assertEquals(java.util.Set.of(first, second), done);
            assertArrayEquals(b, c.read(64 << 20, b.length));
            assertArrayEquals(a, c.read(0, big));
        }
    }

    private static byte[] goData(byte[] name) {
        return java.nio.ByteBuffer.allocate(6 + name.length).putInt(name.length).put(name).putShort((short) 0).array();
    }

    private static int last(List<NbdClient.OptionReply> replies) {
        return replies.get(replies.size() - 1).type();
    }

    /**
     * Item 3: names longer than the spec's 4096 bytes and names that are not UTF-8 are refused (not
     * rewritten: "\xff" used to open the file named U+FFFD); an option of 2^32-1 bytes is refused
     * without reading it; after nbdkit's 32 options the client is disconnected.
     */
    @Test
    public void handshakeLimits() throws Exception {
        try (NbdClient c = NbdClient.unix(server.socket())) {
            assertEquals(NbdClient.REP_ERR_INVALID, last(c.option(NbdClient.OPT_GO, goData("x".repeat(4097).getBytes()))));
            assertEquals(NbdClient.REP_ERR_INVALID, last(c.option(NbdClient.OPT_GO, goData(new byte[] {(byte) 0xff}))));
            c.go("");                                               // still negotiating: the export is served
            c.write(0, new byte[] {1}, 0);
        }
        try (NbdClient c = NbdClient.unix(server.socket())) {
            c.sendOption(NbdClient.OPT_EXPORT_NAME, new byte[] {(byte) 0xc3, 0x28});
            assertTrue("an export name that is not UTF-8 ends the handshake", c.isClosedByServer(30_000));
        }
        try (NbdClient c = NbdClient.unix(server.socket())) {
            c.write(java.nio.ByteBuffer.allocate(16).putLong(NbdClient.IHAVEOPT).putInt(NbdClient.OPT_LIST).putInt(-1).flip());
            NbdClient.OptionReply r = c.readOptionReply();
            assertEquals(NbdClient.REP_ERR_TOO_BIG, r.type());
            assertTrue(c.isClosedByServer(30_000));
        }
        try (NbdClient c = NbdClient.unix(server.socket())) {
            for (int i = 0; i < 32; i++) {
                assertEquals(List.of(""), c.list());
            }
            c.sendOption(NbdClient.OPT_LIST, new byte[0]);
            assertTrue("the 33rd option is one too many", c.isClosedByServer(30_000));
        }
    }

    /** Item 3: a client that does not finish the handshake in time is dropped, one that trickles too. */
    @Test
    public void aClientThatStallsTheHandshakeIsDisconnected() throws Exception {
        Path dir = Distribution.workDir("ConformanceIT/handshake-timeout");
        try (ServerProcess s = ServerProcess.unix(dir, Map.of("NBD_OSGI_JAVA_OPTS", "-Dnbd.handshake.timeout=2s"), "-v", "memory", "1M")) {
            long start = System.nanoTime();
            try (NbdClient idle = NbdClient.unix(s.socket()); NbdClient trickle = NbdClient.unix(s.socket())) {
                byte[] list = java.nio.ByteBuffer.allocate(16).putLong(NbdClient.IHAVEOPT).putInt(NbdClient.OPT_LIST).putInt(0).array();
                boolean closed = false;
                for (int i = 0; i < 200 && !closed; i++) {            // one byte of an option every 100 ms: never done
                    try {
                        trickle.write(java.nio.ByteBuffer.wrap(list, i % list.length, 1));
                    } catch (java.io.IOException e) {
                        closed = true;
                    }
                    Thread.sleep(100);
                }
                assertTrue("the trickling client is dropped", closed || trickle.isClosedByServer(1000));
                assertTrue("the idle client is dropped", idle.isClosedByServer(30_000));
            }
            assertTrue("not before the deadline", System.nanoTime() - start >= 2_000_000_000L);
            try (NbdClient c = NbdClient.unix(s.socket())) {
                c.go("");
                Thread.sleep(2500);
                c.write(0, new byte[] {7}, 0);                         // transmission has no such deadline
                assertArrayEquals(new byte[] {7}, c.read(0, 1));
            }
            assertTrue(s.log(), s.log().contains("handshake not finished within 2 s, disconnected"));
        }
    }

    /**
     * Item 8: a burst of connects while the server is not accepting (stopped with SIGSTOP) waits in
     * the listen queue, which is the system's maximum, not 128: libnbd's non-blocking connect gets
     * EAGAIN once it is full.
     */
    @Test
    public void aBurstOfConnectsWaitsInTheListenQueue() throws Exception {
        // the system's maximum caps the queue: 4096 on current kernels (read line-wise: procfs files have no size)
        int burst = Math.min(300, Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/net/core/somaxconn")).get(0).trim()));
        List<java.nio.channels.SocketChannel> clients = new java.util.ArrayList<>();
        Tools.run(T, "kill", "-STOP", Long.toString(server.pid())).ok();
        try {
            for (int i = 0; i < burst; i++) {
                java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
                clients.add(c);
                c.configureBlocking(false);
                c.connect(java.net.UnixDomainSocketAddress.of(server.socket()));  // EAGAIN would throw here
            }
        } finally {
            Tools.run(T, "kill", "-CONT", Long.toString(server.pid())).ok();
        }
        for (java.nio.channels.SocketChannel c : clients) {
            c.configureBlocking(true);
            java.nio.ByteBuffer greeting = java.nio.ByteBuffer.allocate(18);
            while (greeting.hasRemaining() && c.read(greeting) >= 0) {
                // the server's greeting: NBDMAGIC IHAVEOPT flags
            }
            assertEquals(0x4e42444d41474943L, greeting.getLong(0));
            c.close();
        }
    }

    /**
     * Item 4: a client that connects the moment the Unix socket file appears (as scripts waiting for
     * it do) is never refused. strace holds every listen(2) for half a second, so a file that
     * appeared at bind(2), before the socket listens, would be seen and refused every time.
     */
    @Test
    public void theUnixSocketAppearsOnlyOnceItAccepts() throws Exception {
        Tools.require("strace");
        Path dir = Distribution.workDir("ConformanceIT/socket-appears");
        Path sock = dir.resolve("nbd.sock");
        Files.deleteIfExists(sock);
        String[] outcome = new String[1];
        Thread watcher = Thread.ofPlatform().start(() -> {
            try {
                while (!Files.exists(sock)) {
                    Thread.sleep(1);
                }
                try (NbdClient c = NbdClient.unix(sock)) {
                    c.go("");
                    outcome[0] = "served";
                }
            } catch (Exception e) {
                outcome[0] = e.toString();
            }
        });
        try (ServerProcess s = ServerProcess.unixUnder(dir, List.of("strace", "-f", "--seccomp-bpf", "-qq", "-o", "/dev/null",
                "-e", "trace=listen", "-e", "inject=listen:delay_enter=500000"), "memory", "1M")) {
            watcher.join(120_000);
            assertEquals("served", outcome[0]);
        }
    }

    /** What a GO for {@code name} is refused with: the reply type and the message the client reads. */
    private static String refusal(Path socket, String name) throws Exception {
        try (NbdClient c = NbdClient.unix(socket)) {
            List<NbdClient.OptionReply> r = c.option(NbdClient.OPT_GO, NbdClient.infoData(name));
            NbdClient.OptionReply last = r.get(r.size() - 1);
            return Integer.toHexString(last.type()) + " " + new String(last.data(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /**
     * Item 13: a client learns neither the server's paths nor which names are files or directories;
     * the log keeps the details. The file plugin serving a directory, and a file that shrank under
     * the server (a read past its end is EIO).
     */
    @Test
    public void clientsGetPlainMessagesAndTheLogKeepsTheDetails() throws Exception {
        Path dir = Distribution.workDir("ConformanceIT/messages");
        Path files = Files.createDirectories(dir.resolve("files"));
        Files.createDirectories(files.resolve("sub"));
        Files.write(files.resolve("a.img"), new byte[1 << 20]);
        try (ServerProcess s = ServerProcess.unix(dir, "-v", "file", "dir=" + files)) {
            String sub = refusal(s.socket(), "sub");
            String missing = refusal(s.socket(), "missing");
            assertEquals("80000006 export 'sub' cannot be opened: Invalid argument", sub);
            assertEquals(sub.replace("sub", "missing"), missing);
            assertTrue(s.log(), s.log().contains(files.resolve("sub") + ": is a directory"));

            try (NbdClient c = NbdClient.unix(s.socket())) {
                c.structuredReplies();
                c.go("a.img");
                try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(files.resolve("a.img"),
                        java.nio.file.StandardOpenOption.WRITE)) {
                    f.truncate(4096);
                }
                long cookie = c.send(NbdClient.CMD_READ, NbdClient.FLAG_DF, 65536, 4096, null);
                NbdClient.Reply r = c.receive(4096, 65536);
                assertEquals(cookie, r.cookie);
                assertEquals(NbdClient.EIO, r.error);
                assertEquals("Input/output error", r.message);
                assertTrue(s.log(), s.log().lines().anyMatch(l -> l.contains("WARN") && l.contains(files.resolve("a.img").toString())));
            }
        }
    }
}
