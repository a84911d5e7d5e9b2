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
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

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
            assertTrue(d.journal().stream().noneMatch(l -> l.contains("two-threads=1")), "one thread per handle: " + d.journal());
            assertTrue(d.journal().stream().noneMatch(l -> l.contains("open-close-overlap=1")), d.journal().toString());
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
            assertEquals(0, one.offset(0));
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
