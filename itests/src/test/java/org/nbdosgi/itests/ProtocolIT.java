package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The handshake and transmission rules, including the bad requests real clients never send:
 * each gets what the spec says, and the server keeps serving everyone else.
 */
public class ProtocolIT {
    private static ServerProcess rw;
    private static ServerProcess ro;

    @BeforeClass
    public static void start() throws Exception {
        rw = ServerProcess.unix(Distribution.workDir("ProtocolIT/rw"), "-e", "disk", "memory", "64M");
        ro = ServerProcess.unix(Distribution.workDir("ProtocolIT/ro"), "-r", "memory", "1M");
    }

    @AfterClass
    public static void stop() throws Exception {
        rw.close();
        ro.close();
    }

    private static NbdClient open(ServerProcess s, String export) throws Exception {
        NbdClient c = NbdClient.unix(s.socket());
        c.structuredReplies();
        c.setMetaContext(export, "base:allocation");
        c.go(export);
        return c;
    }

    private static int errorOf(ThrowingRunnable r) throws Exception {
        try {
            r.run();
        } catch (NbdClient.ReplyError e) {
            return e.code;
        }
        fail("expected an NBD error");
        return 0;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    public void outOfRangeRequestsGetEinvalOrEnospcAndTheConnectionGoesOn() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            long size = c.size;
            assertEquals(NbdClient.EINVAL, errorOf(() -> c.read(size - 512, 1024)));
            assertEquals(NbdClient.ENOSPC, errorOf(() -> c.write(size, new byte[512], 0)));
            assertEquals(NbdClient.ENOSPC, errorOf(() -> c.zero(size - 4096, 8192, 0)));
            assertEquals(NbdClient.EINVAL, errorOf(() -> c.trim(size, 4096)));
            assertEquals(NbdClient.EINVAL, errorOf(() -> c.blockStatus(size, 4096, 0)));
            assertEquals(512, c.read(size - 512, 512).length);          // still serving
        }
    }

    @Test
    public void writesToAReadOnlyExportGetEperm() throws Exception {
        try (NbdClient c = open(ro, "")) {
            assertTrue((c.transmissionFlags & NbdClient.TF_READ_ONLY) != 0);
            assertEquals(NbdClient.EPERM, errorOf(() -> c.write(0, new byte[4096], 0)));
            assertEquals(NbdClient.EPERM, errorOf(() -> c.zero(0, 4096, 0)));
            assertEquals(NbdClient.EPERM, errorOf(() -> c.trim(0, 4096)));
            assertEquals(4096, c.read(0, 4096).length);
        }
    }

    @Test
    public void oversizedRequestsAreRefusedWithoutBufferingTheirPayload() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            assertEquals(NbdClient.EINVAL, errorOf(() -> c.read(0, (64 << 20) + 1)));
            // a 65 MiB write: the payload is skipped as it streams in, then EINVAL
            long cookie = c.send(NbdClient.CMD_WRITE, 0, 0, 65 << 20, null);
            byte[] chunk = new byte[1 << 20];
            for (int i = 0; i < 65; i++) {
                c.write(ByteBuffer.wrap(chunk));
            }
            NbdClient.Reply r = c.receive(0, 0);
            assertEquals(cookie, r.cookie);
            assertEquals(NbdClient.EINVAL, r.error);
            byte[] data = new byte[4096];
            new Random(3).nextBytes(data);
            c.write(8192, data, 0);                                  // the stream is still in step
            assertArrayEquals(data, c.read(8192, 4096));
        }
    }

    @Test
    public void unknownCommandsAndFlagsGetEinval() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            long cookie = c.send(42, 0, 0, 512, null);
            NbdClient.Reply r = c.receive(0, 0);
            assertEquals(cookie, r.cookie);
            assertEquals(NbdClient.EINVAL, r.error);
            cookie = c.send(NbdClient.CMD_READ, 0x100, 0, 512, null);
            r = c.receive(512, 0);
            assertEquals(NbdClient.EINVAL, r.error);
            assertEquals(NbdClient.EINVAL, errorOf(() -> c.blockStatus(0, 0, 0)));
            assertEquals(512, c.read(0, 512).length);
        }
    }

    @Test
    public void badRequestMagicDisconnectsOnlyThatClient() throws Exception {
        try (NbdClient good = open(rw, "disk"); NbdClient bad = open(rw, "disk")) {
            bad.write(ByteBuffer.allocate(28).putInt(0, 0xdeadbeef));
            assertTrue("the bad client is disconnected", bad.isClosedByServer(5000));
            good.write(0, new byte[] {1, 2, 3}, 0);
            assertArrayEquals(new byte[] {1, 2, 3}, good.read(0, 3));
        }
    }

    @Test
    public void unknownOptionsAndStartTlsAreRefusedAndTheHandshakeGoesOn() throws Exception {
        try (NbdClient c = NbdClient.unix(rw.socket())) {
            List<NbdClient.OptionReply> r = c.option(99, "junk".getBytes(StandardCharsets.UTF_8));
            assertEquals(NbdClient.REP_ERR_UNSUP, r.get(r.size() - 1).type());
            r = c.option(NbdClient.OPT_STARTTLS, new byte[0]);
            assertEquals(NbdClient.REP_ERR_POLICY, r.get(r.size() - 1).type());
            r = c.option(NbdClient.OPT_LIST, new byte[] {1});
            assertEquals(NbdClient.REP_ERR_INVALID, r.get(r.size() - 1).type());
            assertEquals("-e names no export (nbdkit's meaning): the one export is the default one", List.of(""), c.list());
            c.go("disk");
            assertEquals(64L << 20, c.size);
        }
    }

    @Test
    public void infoThenGoAndBlockSizeAreReported() throws Exception {
        try (NbdClient c = NbdClient.unix(rw.socket())) {
            List<NbdClient.OptionReply> info = c.option(NbdClient.OPT_INFO, NbdClient.infoData("disk"));
            assertEquals(NbdClient.REP_ACK, info.get(info.size() - 1).type());
            c.go("disk");
            assertEquals("disk", c.canonicalName);
            assertEquals("the memory plugin has no description: no NBD_INFO_DESCRIPTION", null, c.description);
            assertArrayEquals(new int[] {1, 4096, 64 << 20}, c.blockSize);
            int want = NbdClient.TF_SEND_FLUSH | NbdClient.TF_SEND_FUA | NbdClient.TF_SEND_TRIM | NbdClient.TF_SEND_WRITE_ZEROES
                    | NbdClient.TF_CAN_MULTI_CONN | NbdClient.TF_SEND_CACHE | NbdClient.TF_SEND_FAST_ZERO;
            assertEquals(want, c.transmissionFlags & want);
        }
    }

    @Test
    public void aReadWithDontFragmentIsOneDataChunkEvenOverZeros() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            assertTrue("DF is offered with structured replies", (c.transmissionFlags & NbdClient.TF_SEND_DF) != 0);
            long at = 40L << 20;                                       // never written: all zeros
            c.write(at + 8192, new byte[] {7}, 0);
            NbdClient.Reply split = c.readReply(at, 65536, 0);
            assertTrue("without DF, zero blocks go as holes", split.holeChunks >= 1);
            NbdClient.Reply whole = c.readReply(at, 65536, NbdClient.FLAG_DF);
            assertEquals(1, whole.dataChunks);
            assertEquals(0, whole.holeChunks);
            byte[] want = new byte[65536];
            want[8192] = 7;
            assertArrayEquals(want, whole.data);
        }
        try (NbdClient simple = NbdClient.unix(rw.socket())) {
            simple.go("disk");
            assertEquals("no DF without structured replies", 0, simple.transmissionFlags & NbdClient.TF_SEND_DF);
            long cookie = simple.send(NbdClient.CMD_READ, NbdClient.FLAG_DF, 0, 512, null);
            NbdClient.Reply r = simple.receive(0, 0);
            assertEquals(cookie, r.cookie);
            assertEquals(NbdClient.EINVAL, r.error);
        }
    }

    @Test
    public void exportNameAnswersWithOrWithoutTheZeroPadding() throws Exception {
        try (NbdClient old = NbdClient.unix(rw.socket(), NbdClient.C_FIXED_NEWSTYLE)) {
            byte[] padding = old.exportName("disk");
            assertArrayEquals("124 zero bytes for a client without NO_ZEROES", new byte[124], padding);
            assertEquals(64L << 20, old.size);
            old.write(48L << 20, new byte[] {1, 2}, 0);                // in step after the padding
            assertArrayEquals(new byte[] {1, 2}, old.read(48L << 20, 2));
        }
        try (NbdClient modern = NbdClient.unix(rw.socket())) {
            assertEquals(0, modern.exportName("disk").length);
            assertEquals(64L << 20, modern.size);
            assertArrayEquals(new byte[] {1, 2}, modern.read(48L << 20, 2));
        }
        try (NbdClient unknown = NbdClient.unix(ro.socket())) {
            unknown.exportName("whatever");                            // the command line's export serves every name
            assertEquals(1L << 20, unknown.size);
        }
    }

    @Test
    public void abortIsAcknowledgedThenTheServerCloses() throws Exception {
        try (NbdClient c = NbdClient.unix(rw.socket())) {
            List<NbdClient.OptionReply> r = c.option(NbdClient.OPT_ABORT, new byte[0]);
            assertEquals(1, r.size());
            assertEquals(NbdClient.REP_ACK, r.get(0).type());
            assertTrue(c.isClosedByServer(5000));
        }
    }

    private static byte[] metaContextData(String export, String... queries) {
        ByteBuffer b = ByteBuffer.allocate(1024);
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        b.putInt(name.length).put(name).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** The contexts a LIST_META_CONTEXT reply names (each with the id 0 a list gives). */
    private static List<String> contexts(List<NbdClient.OptionReply> replies) {
        assertEquals(NbdClient.REP_ACK, replies.get(replies.size() - 1).type());
        return replies.stream().filter(r -> r.type() == NbdClient.REP_META_CONTEXT).map(r -> {
            ByteBuffer b = ByteBuffer.wrap(r.data());
            assertEquals(0, b.getInt());
            return new String(r.data(), 4, r.data().length - 4, StandardCharsets.UTF_8);
        }).toList();
    }

    @Test
    public void listMetaContextNamesBaseAllocation() throws Exception {
        try (NbdClient c = NbdClient.unix(rw.socket())) {
            List<NbdClient.OptionReply> early = c.option(NbdClient.OPT_LIST_META_CONTEXT, metaContextData("disk"));
            assertEquals("structured replies come first", NbdClient.REP_ERR_INVALID, early.get(early.size() - 1).type());
            c.structuredReplies();
            assertEquals(List.of("base:allocation"), contexts(c.option(NbdClient.OPT_LIST_META_CONTEXT, metaContextData("disk"))));
            assertEquals(List.of("base:allocation"), contexts(c.option(NbdClient.OPT_LIST_META_CONTEXT, metaContextData("disk", "base:"))));
            assertEquals(List.of("base:allocation"),
                    contexts(c.option(NbdClient.OPT_LIST_META_CONTEXT, metaContextData("disk", "base:allocation"))));
            assertEquals(List.of(), contexts(c.option(NbdClient.OPT_LIST_META_CONTEXT, metaContextData("disk", "qemu:dirty-bitmap:x"))));
            byte[] truncated = java.util.Arrays.copyOf(metaContextData("disk", "base:allocation"), 14);
            List<NbdClient.OptionReply> bad = c.option(NbdClient.OPT_LIST_META_CONTEXT, truncated);
            assertEquals(NbdClient.REP_ERR_INVALID, bad.get(bad.size() - 1).type());
            c.go("disk");
            assertEquals("listing selects nothing: block status is refused", NbdClient.EINVAL, errorOf(() -> c.blockStatus(0, 4096, 0)));
        }
    }

    @Test
    public void startTlsWithDataIsInvalidAndTheHandshakeGoesOn() throws Exception {
        try (NbdClient c = NbdClient.unix(rw.socket())) {
            List<NbdClient.OptionReply> r = c.option(NbdClient.OPT_STARTTLS, "unexpected".getBytes(StandardCharsets.UTF_8));
            assertEquals(NbdClient.REP_ERR_INVALID, r.get(r.size() - 1).type());
            assertEquals("-e names no export (nbdkit's meaning): the one export is the default one", List.of(""), c.list());
            c.go("disk");
            assertEquals(64L << 20, c.size);
        }
    }

    @Test
    public void manyRequestsInFlightAreAllAnsweredOnce() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            Set<Long> cookies = new HashSet<>();
            for (int i = 0; i < 200; i++) {
                cookies.add(c.send(NbdClient.CMD_READ, 0, (long) i * 4096, 4096, null));
            }
            Set<Long> answered = new HashSet<>();
            for (int i = 0; i < 200; i++) {
                NbdClient.Reply r = c.receive(4096, 0);
                assertEquals(0, r.error);
                assertTrue("each cookie once", answered.add(r.cookie));
            }
            assertEquals(cookies, answered);
        }
    }

    @Test
    public void blockStatusWithReqOneGivesOneExtentWithinTheRequest() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            c.write(1 << 20, new byte[65536], 0);
            List<long[]> one = c.blockStatus(0, 2 << 20, NbdClient.FLAG_REQ_ONE);
            assertEquals(1, one.size());
            assertTrue(one.get(0)[0] <= 2 << 20);
            List<long[]> all = c.blockStatus(0, 2 << 20, 0);
            assertTrue(all.size() >= 2);
        }
    }

    @Test
    public void fastZeroOnAnExportThatZeroesFastSucceeds() throws Exception {
        try (NbdClient c = open(rw, "disk")) {
            c.write(0, new byte[] {9, 9, 9}, 0);
            c.zero(0, 65536, NbdClient.FLAG_FAST_ZERO);
            assertArrayEquals(new byte[3], c.read(0, 3));
        }
    }

    @Test
    public void aClientVanishingMidRequestLeavesOthersUnaffected() throws Exception {
        for (int i = 0; i < 20; i++) {
            NbdClient gone = open(rw, "disk");
            gone.send(NbdClient.CMD_WRITE, 0, 0, 1 << 20, null);
            gone.write(ByteBuffer.wrap(new byte[1000]));                // then vanish mid-payload
            gone.close();
        }
        try (NbdClient c = open(rw, "disk")) {
            c.write(0, new byte[] {5}, 0);
            assertArrayEquals(new byte[] {5}, c.read(0, 1));
        }
        assertFalse(rw.log(), rw.log().contains("Exception"));
    }
}
