package org.nbdosgi.plugin.vddk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/** The plugin's data path against the stand-in library: real JNA calls, real completion threads. */
class VddkHandleTest {
    private static final int MB = 1 << 20;

    @TempDir
    Path dir;

    private static ByteBuffer direct(byte[] data) {
        return ByteBuffer.allocateDirect(data.length).put(data).flip();
    }

    private static byte[] read(VddkHandle h, long offset, int len) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(len);
        h.read(b, offset, 0);
        assertEquals(0, b.position(), "position untouched");
        byte[] out = new byte[len];
        b.get(out);
        return out;
    }

    @Test
    void manyConcurrentRequestsOnOneHandleAreInFlightTogetherAndRoundTrip() throws Exception {
        byte[] expected = new byte[8 * MB];
        new Random(7).nextBytes(expected);
        try (StandInDisk d = new StandInDisk(dir, 8 * MB, Map.of())) {
            VddkHandle h = d.open(1);
            assertEquals(8L * MB, h.size());
            assertTrue(h.canWrite() && h.canFlush() && h.canExtents());
            assertEquals(Support.NATIVE, h.canFua());
            assertEquals(512, h.blockSize().minimum());
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> writes = new ArrayList<>();
                for (int i = 0; i < 128; i++) {
                    int off = i * 65536;
                    writes.add(pool.submit(() -> {
                        byte[] part = java.util.Arrays.copyOfRange(expected, off, off + 65536);
                        h.write(direct(part), off, 0);
                        return null;
                    }));
                }
                for (Future<?> f : writes) {
                    f.get();
                }
            }
            h.flush(0);
            assertArrayEquals(expected, read(h, 0, 8 * MB));
            h.close();
            assertArrayEquals(expected, Files.readAllBytes(d.image), "the image holds what was written");
            assertTrue(d.maxInFlight() > 8, "many requests in flight on one handle: " + d.journal());
            List<String> closes = d.lines("Close ");
            assertEquals(2, closes.size(), "the probe's handle and the connection's: " + d.journal());
            for (String c : closes) {
                assertEquals(0, StandInDisk.fact(c, "two-threads"), "one thread per handle: " + c);
                assertEquals(0, StandInDisk.fact(c, "pending"), "nothing in flight at Close: " + c);
                assertEquals(0, StandInDisk.fact(c, "open-close-overlap"), c);
            }
        }
    }

    @Test
    void unalignedReadsAndWritesAreServedByReadModifyWrite() throws Exception {
        byte[] model = new byte[MB];
        new Random(3).nextBytes(model);
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of())) {
            Files.write(d.image, model);
            VddkHandle h = d.open(1);
            Random r = new Random(11);
            for (int i = 0; i < 300; i++) {
                int off = r.nextInt(MB - 3000);
                int len = 1 + r.nextInt(2999);
                byte[] data = new byte[len];
                r.nextBytes(data);
                ByteBuffer b = direct(data);
                if (i % 3 == 0) {
                    b = ByteBuffer.wrap(data);                     // a heap buffer works too
                }
                h.write(b, off, i % 5 == 0 ? Flags.FUA : 0);
                System.arraycopy(data, 0, model, off, len);
                int roff = r.nextInt(MB - 3000);
                int rlen = 1 + r.nextInt(2999);
                assertArrayEquals(java.util.Arrays.copyOfRange(model, roff, roff + rlen), read(h, roff, rlen), "read " + roff + "+" + rlen);
            }
            assertArrayEquals(model, read(h, 0, MB));
            h.close();
        }
    }

    @Test
    void unalignedWritesToOneSectorFromManyThreadsLoseNothing() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of())) {
            VddkHandle a = d.open(1);
            VddkHandle b = d.open(2);
            try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    int slot = i;
                    VddkHandle h = i % 2 == 0 ? a : b;              // two connections on one export
                    done.add(pool.submit(() -> {
                        byte[] one = new byte[8];
                        java.util.Arrays.fill(one, (byte) (slot + 1));
                        h.write(direct(one), 4096 + slot * 8L, 0);
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            }
            byte[] got = read(a, 4096, 512);
            for (int i = 0; i < 64; i++) {
                for (int j = 0; j < 8; j++) {
                    assertEquals(i + 1, got[i * 8 + j], "byte " + (i * 8 + j));
                }
            }
            a.close();
            b.close();
        }
    }

    @Test
    void connectionsOpeningAndClosingAtOnceNeverOverlapInsideVddk() throws Exception {
        int clients = 12;
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of());
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            CyclicBarrier opening = new CyclicBarrier(clients);
            CyclicBarrier closing = new CyclicBarrier(clients);
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                long connection = i + 1;
                done.add(pool.submit(() -> {
                    opening.await();
                    VddkHandle h = d.open(connection);
                    byte[] mine = new byte[512];
                    Arrays.fill(mine, (byte) connection);
                    h.write(direct(mine), connection * 512, 0);
                    assertArrayEquals(mine, read(h, connection * 512, 512));
                    closing.await();                        // every handle open at once, then all closing at once
                    h.close();
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            assertEquals(clients + 1, d.lines("Open ").size(), "the probe and every connection: " + d.journal());
            List<String> closes = d.lines("Close ");
            assertEquals(clients + 1, closes.size(), d.journal().toString());
            for (String c : closes) {
                assertEquals(0, StandInDisk.fact(c, "open-close-overlap"), "ConnectEx/Open/Close/Disconnect one at a time: " + c);
            }
        }
    }

    /** The check above can fail: the stand-in counts Open/Close-type calls made at the same time. */
    @Test
    void theStandInCountsConnectsMadeAtTheSameTimeWithoutTheLock() throws Exception {
        int threads = 4;
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of());
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CyclicBarrier together = new CyclicBarrier(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                done.add(pool.submit(() -> {
                    Pointer params = d.lib.allocateConnectParams();        // all NULL: a local connection
                    try {
                        together.await();
                        PointerByReference connection = new PointerByReference();
                        assertEquals(VixDiskLib.VIX_OK, d.lib.connectEx(params, true, null, null, connection));
                        assertEquals(VixDiskLib.VIX_OK, d.lib.disconnect(connection.getValue()));
                    } finally {
                        d.lib.freeConnectParams(params);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            d.close();
            List<String> exits = d.lines("Exit ");
            assertEquals(1, exits.size(), d.journal().toString());
            assertTrue(StandInDisk.fact(exits.get(0), "open-close-overlap") > 0, "overlap seen: " + exits);
        }
    }

    @Test
    void flushesAndFuaWritesUnderLoadWaitForTheRequestsInFlight() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, 8 * MB, Map.of());
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            VddkHandle h = d.open(1);
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                int client = i;
                done.add(pool.submit(() -> {
                    Random r = new Random(client);
                    for (int n = 0; n < 16; n++) {
                        if (client % 8 == 0) {
                            h.flush(0);                     // flushes while the others' writes are in flight
                        } else {
                            byte[] data = new byte[4096];
                            r.nextBytes(data);
                            h.write(direct(data), (long) r.nextInt(2048) * 4096, n % 4 == 0 ? Flags.FUA : 0);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            h.close();
            assertTrue(d.maxInFlight() >= 16, "under load: " + d.lines("Close "));
            List<String> flushes = d.lines("Flush ");
            assertTrue(flushes.size() >= 8 * 16 + 56 * 4, "every flush and FUA write reached VDDK's Flush: " + flushes.size());
            for (String f : flushes) {
                assertEquals(0, StandInDisk.fact(f, "pending"), "Wait before Flush: " + f);
            }
        }
    }

    @Test
    void anInjectedWriteAsyncFailureIsEioForThatRequestOnly() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of(), "standin.fail=WriteAsync@100");
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            VddkHandle h = d.open(1);
            byte[] ones = new byte[512];
            Arrays.fill(ones, (byte) 1);
            List<Future<?>> others = new ArrayList<>();
            for (int sector = 90; sector < 110; sector++) {
                if (sector != 100) {
                    long at = sector * 512L;
                    others.add(pool.submit(() -> {
                        h.write(direct(ones), at, 0);
                        return null;
                    }));
                }
            }
            NbdException e = assertThrows(NbdException.class, () -> h.write(direct(ones), 100 * 512, 0));
            assertEquals(NbdError.EIO, e.error());
            assertTrue(e.getMessage().startsWith("VixDiskLib_WriteAsync: "), e.getMessage());
            for (Future<?> f : others) {
                f.get();                                            // the writes around it succeed
            }
            byte[] expected = new byte[20 * 512];
            Arrays.fill(expected, (byte) 1);
            Arrays.fill(expected, 10 * 512, 11 * 512, (byte) 0);    // the failed sector was not written
            assertArrayEquals(expected, read(h, 90 * 512, 20 * 512));
            h.close();
        }
    }

    @Test
    void anInjectedFlushFailureReachesTheClientAndOnlyFlushesFail() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of(), "standin.fail=Flush")) {
            VddkHandle h = d.open(1);
            NbdException flush = assertThrows(NbdException.class, () -> h.flush(0));
            assertEquals(NbdError.EIO, flush.error());
            assertEquals("VixDiskLib_Flush: Unknown error (VDDK error 1)", flush.getMessage());
            NbdException fua = assertThrows(NbdException.class, () -> h.write(direct(new byte[512]), 0, Flags.FUA));
            assertEquals("VixDiskLib_Flush: Unknown error (VDDK error 1)", fua.getMessage(), "FUA is a flush");
            byte[] data = new byte[4096];
            Arrays.fill(data, (byte) 7);
            h.write(direct(data), 4096, 0);
            assertArrayEquals(data, read(h, 4096, 4096));
            h.close();
        }
    }

    @Test
    void anInjectedGetInfoFailureStopsTheExportAtStart() throws Exception {
        Path image = dir.resolve("disk.img");
        ConfigException e = assertThrows(ConfigException.class, () -> new StandInDisk(dir, MB, Map.of(), "standin.fail=GetInfo"));
        assertEquals("file: " + image + ": VixDiskLib_GetInfo: Unknown error (VDDK error 1)", e.getMessage());
    }

    @Test
    void theStartupProbeCountsInTheStatistics() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of())) {
            Map<String, Long> calls = new java.util.HashMap<>();
            d.instance.stats().rows().forEach(r -> calls.put(r.function(), r.calls()));
            assertEquals(Map.of("VixDiskLib_ConnectEx", 1L, "VixDiskLib_Open", 1L, "VixDiskLib_GetInfo", 1L,
                    "VixDiskLib_QueryAllocatedBlocks", 1L, "VixDiskLib_Close", 1L, "VixDiskLib_Disconnect", 1L), calls);
            d.open(1).close();
            assertTrue(d.instance.stats().rows().stream()
                    .anyMatch(r -> r.function().equals("VixDiskLib_GetInfo") && r.calls() == 2), d.instance.stats().table());
        }
    }

    @Test
    void anInjectedReadAsyncFailureIsEioForThatRequestOnly() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of(), "standin.fail=ReadAsync@100")) {
            VddkHandle h = d.open(1);
            NbdException e = assertThrows(NbdException.class, () -> read(h, 100 * 512, 512));
            assertEquals(NbdError.EIO, e.error());
            assertTrue(e.getMessage().startsWith("VixDiskLib_ReadAsync: "), e.getMessage());
            assertEquals(4096, read(h, 0, 4096).length, "the next request works");
            assertThrows(NbdException.class, () -> read(h, 99 * 512, 1024), "every read covering the sector fails");
            h.close();
        }
    }

    @Test
    void extentsFollowTheImagesHoles() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, 4 * MB, Map.of())) {
            try (var f = new java.io.RandomAccessFile(d.image.toFile(), "rw")) {
                f.seek(MB);
                f.write(new byte[65536 * 2]);                   // written zeros are still allocated
            }
            VddkHandle h = d.open(1);
            Extents e = new Extents(0, 4 * MB);
            h.extents(0, 4 * MB, 0, e);
            assertEquals("Extents[0+1048576:3, 1048576+131072:0, 1179648+3014656:3]", e.toString());
            Extents one = new Extents(0, 4 * MB);
            h.extents(0, 4 * MB, Flags.REQ_ONE, one);
            assertEquals(1, one.count(), "REQ_ONE: the first extent only: " + one);
            assertEquals(MB, one.length(0), one.toString());
            assertEquals(Extents.HOLE | Extents.ZERO, one.type(0), one.toString());
            Extents second = new Extents(MB + 4096, 4 * MB);
            h.extents(MB + 4096, 3 * MB - 4096, Flags.REQ_ONE, second);
            assertEquals("Extents[1052672+126976:0]", second.toString(), "from inside the data to its end");
            h.close();
        }
        Path second = Files.createDirectories(dir.resolve("single-link"));
        try (StandInDisk d = new StandInDisk(second, 4 * MB, Map.of("single-link", "true"))) {
            VddkHandle h = d.open(1);
            Extents e = new Extents(0, 4 * MB);
            h.extents(0, 4 * MB, 0, e);
            assertEquals("Extents[0+4194304:1]", e.toString(), "single link: holes may show the parent, not zeros");
            h.close();
        }
    }

    @Test
    void aFailingProbeMeansNoExtentsAndNoErrors() throws Exception {
        try (StandInDisk d = new StandInDisk(dir, MB, Map.of(), "standin.fail=QueryAllocatedBlocks")) {
            VddkHandle h = d.open(1);
            assertFalse(h.canExtents());
            assertEquals(512, read(h, 0, 512).length);
            h.close();
        }
    }

    @Test
    void initExAndExitAreBalancedAcrossExports() throws Exception {
        StandInDisk d = new StandInDisk(dir, MB, Map.of());
        d.open(1).close();
        d.close();
        StandInDisk again = new StandInDisk(dir, MB, Map.of());
        again.close();
        List<String> j = again.journal();
        assertEquals(2, j.stream().filter(l -> l.startsWith("InitEx version=6.5")).count(), j.toString());
        assertEquals(2, j.stream().filter(l -> l.startsWith("Exit ")).count(), j.toString());
        assertTrue(j.stream().noneMatch(l -> l.contains("not-initialized") || l.contains("again")), j.toString());
    }

    @Test
    void aMissingFileFailsTheExportAtStartWithVddksReason() throws Exception {
        Path conf = dir.resolve("c");
        Files.writeString(conf, "");
        VddkRuntime rt = new VddkRuntime();
        VddkSettings s = VddkSettings.parse(new org.nbdosgi.api.Config(Map.of("file", dir.resolve("none.vmdk").toString(),
                "libdir", StandInDisk.LIBDIR.toString())));
        VixDiskLib lib = rt.acquire(s.libdir(), s.config());
        try {
            ConfigException e = assertThrows(ConfigException.class, () -> new VddkInstance("x", s, rt, lib, new VddkStats()));
            assertEquals("file: " + dir.resolve("none.vmdk") + ": VixDiskLib_Open: The file was not found (VDDK error 4)", e.getMessage());
        } finally {
            rt.release(lib);
        }
    }
}
