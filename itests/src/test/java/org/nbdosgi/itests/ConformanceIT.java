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
}
