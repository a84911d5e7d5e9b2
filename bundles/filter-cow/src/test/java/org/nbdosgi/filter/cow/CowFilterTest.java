package org.nbdosgi.filter.cow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/** The cow filter over a read-only {@link Source}, against a model of what clients must read. */
class CowFilterTest {
    private static final int K = 1024;
    @TempDir
    Path tmp;
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private Handle handle(FilterInstance i) throws IOException {
        return i.open(new ClientContext("", false, "test", 1));
    }

    private static Source source(byte[] content) {
        return new Source(content);
    }

    /** The filter with its overlay in this test's directory (as $TMPDIR would put it). */
    private Handle cow(Source below, String... params) throws Exception {
        CowOptions o = CowOptions.from(new Config(toMap(params)), tmp.toString());
        CowInstance i = CowInstance.create(o, new ExportContext("", false), below);
        open.add(i);
        return handle(i);
    }

    private static Map<String, String> toMap(String... params) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String p : params) {
            m.put(p.substring(0, p.indexOf('=')), p.substring(p.indexOf('=') + 1));
        }
        return m;
    }

    private static byte[] read(Handle h, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        h.read(b, offset, 0);
        assertEquals(0, b.position());
        byte[] out = new byte[length];
        b.get(0, out);
        return out;
    }

    private static void write(Handle h, long offset, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(data.length).put(data).flip();
        h.write(b, offset, 0);
        assertEquals(0, b.position());
    }

    @Test
    void writesAreReadBackAndTheLayerBelowIsNeverWritten() throws Exception {
        byte[] content = random(1 << 20, 1);
        Source below = source(content);
        Handle h = cow(below, "cow-block-size=4K");
        assertTrue(h.canWrite());
        assertTrue(h.canMultiConn());
        assertEquals(Support.NATIVE, h.canZero());
        byte[] model = content.clone();
        Random r = new Random(2);
        for (int i = 0; i < 400; i++) {
            int off = r.nextInt(model.length - 1);
            int len = 1 + r.nextInt(Math.min(model.length - off, i % 5 == 0 ? 200 * K : 9000));
            switch (r.nextInt(5)) {
                case 0, 1 -> {
                    byte[] d = random(len, i);
                    write(h, off, d);
                    System.arraycopy(d, 0, model, off, len);
                }
                case 2 -> {
                    h.zero(off, len, 0);
                    Arrays.fill(model, off, off + len, (byte) 0);
                }
                case 3 -> {
                    h.trim(off, len, 0);
                    // trim zeroes the whole blocks it covers and leaves parts of blocks alone
                    int from = (off + 4 * K - 1) / (4 * K) * 4 * K;
                    int to = (off + len) / (4 * K) * 4 * K;
                    if (off + len == model.length) {
                        to = model.length;
                    }
                    if (from < to) {
                        Arrays.fill(model, from, to, (byte) 0);
                    }
                }
                default -> assertArrayEquals(Arrays.copyOfRange(model, off, off + len), read(h, off, len), "read " + off + "+" + len);
            }
        }
        assertArrayEquals(model, read(h, 0, model.length));
        assertArrayEquals(content, below.bytes(), "the source is unchanged");
    }

    @Test
    void anExportWhoseSizeIsNotAWholeNumberOfBlocks() throws Exception {
        byte[] content = random(100_000, 3);
        Handle h = cow(source(content));                                 // 64K blocks: the second is partial
        byte[] d = random(40_000, 4);
        write(h, 60_000, d);
        byte[] model = content.clone();
        System.arraycopy(d, 0, model, 60_000, d.length);
        h.zero(99_000, 1000, 0);
        Arrays.fill(model, 99_000, 100_000, (byte) 0);
        assertArrayEquals(model, read(h, 0, model.length));
        h.trim(65536, 100_000 - 65536, 0);                               // the last, short block is whole
        Arrays.fill(model, 65536, 100_000, (byte) 0);
        assertArrayEquals(model, read(h, 0, model.length));
    }

    /**
     * Twelve writers at once, each owning interleaved slices of every 24 KiB, so every 64 KiB block
     * gets partial writes from several of them while it is still the layer below's: a
     * read-modify-write without the block's lock would lose slices.
     */
    @Test
    void concurrentPartialWritesToOneBlockLoseNothing() throws Exception {
        byte[] content = random(4 << 20, 5);
        Handle h = cow(source(content));
        byte[] model = content.clone();
        int writers = 12;
        int slot = 2 * K;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> all = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int me = w;
                all.add(pool.submit(() -> {
                    for (int off = me * slot; off + slot <= content.length; off += writers * slot) {
                        byte[] d = random(slot, off);
                        write(h, off, d);
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get();
            }
        }
        for (int off = 0; off + slot <= content.length; off += slot) {
            System.arraycopy(random(slot, off), 0, model, off, slot);
        }
        assertArrayEquals(model, read(h, 0, model.length));
    }

    @Test
    void cowOnReadKeepsWhatWasReadSoTheSecondReadStaysLocal() throws Exception {
        byte[] content = random(1 << 20, 6);
        Source below = source(content);
        Handle h = cow(below, "cow-on-read=true");
        assertArrayEquals(Arrays.copyOfRange(content, 1000, 300_000), read(h, 1000, 299_000));
        int reads = below.reads.get();
        assertEquals(1, reads, "one request below for the whole run of blocks");
        assertEquals(5 * 64 * K, below.bytesRead.get(), "whole blocks were fetched: 0 to 320K");
        assertArrayEquals(Arrays.copyOfRange(content, 0, 320 * K), read(h, 0, 320 * K));
        assertEquals(reads, below.reads.get(), "served from the overlay");

        Source plain = source(content);
        Handle p = cow(plain);
        read(p, 1000, 299_000);
        read(p, 1000, 299_000);
        assertEquals(2, plain.reads.get(), "without cow-on-read every read goes below");
        assertEquals(2 * 299_000, plain.bytesRead.get(), "and only the bytes asked for");
    }

    @Test
    void cowOnReadPathFollowsThePath() throws Exception {
        byte[] content = random(1 << 20, 7);
        Source below = source(content);
        Path flag = tmp.resolve("keep");
        Handle h = cow(below, "cow-on-read=" + flag);
        read(h, 0, 64 * K);
        read(h, 0, 64 * K);
        assertEquals(2, below.reads.get(), "no " + flag + ": nothing kept");
        Files.createFile(flag);
        read(h, 0, 64 * K);
        read(h, 0, 64 * K);
        assertEquals(3, below.reads.get(), flag + " exists: kept");
    }

    @Test
    void cacheCopiesIntoTheOverlayOnlyWithCowOnCache() throws Exception {
        byte[] content = random(1 << 20, 8);
        Source below = source(content);
        Handle h = cow(below, "cow-on-cache=true");
        assertEquals(Support.NATIVE, h.canCache());
        h.cache(0, 512 * K, 0);
        assertEquals(1, below.reads.get());
        assertArrayEquals(Arrays.copyOfRange(content, 0, 512 * K), read(h, 0, 512 * K));
        assertEquals(1, below.reads.get(), "the prefetched blocks are read from the overlay");
        assertEquals(0, below.caches.get());

        Source passing = source(content);
        Handle p = cow(passing);
        p.cache(0, 512 * K, 0);
        assertEquals(1, passing.caches.get(), "without cow-on-cache the prefetch is passed below");
        assertEquals(0, passing.reads.get());
    }

    @Test
    void extentsMergeTheOverlayWithTheLayerBelow() throws Exception {
        byte[] content = random(1 << 20, 9);
        Handle h = cow(source(content));                      // below: data in [0, 512K), a hole after
        write(h, 600 * K + 5, new byte[] {1});                // block [576K, 640K) becomes data
        h.zero(64 * K, 128 * K, 0);                           // [64K, 192K): zeroed in the overlay
        Extents e = new Extents(0, 1 << 20);
        h.extents(0, 1 << 20, 0, e);
        assertEquals("Extents[0+65536:0, 65536+131072:3, 196608+327680:0, 524288+65536:3, 589824+65536:0, 655360+393216:3]",
                e.toString());
        Extents one = new Extents(64 * K, 1 << 20);
        h.extents(64 * K, 512 * K, Flags.REQ_ONE, one);
        assertEquals("Extents[65536+131072:3]", one.toString());
    }

    @Test
    void allocationDepthIsOneInTheOverlayTwoForDataBelowAndZeroForHolesBelow() throws Exception {
        byte[] content = random(1 << 20, 10);
        Source below = source(content);                       // data in [0, 512K), a hole after
        CowOptions o = CowOptions.from(new Config(Map.of()), tmp.toString());
        CowInstance i = CowInstance.create(o, new ExportContext("", false), below);
        open.add(i);
        assertEquals(List.of(Extents.QEMU_ALLOCATION_DEPTH), i.metaContexts());
        Handle h = handle(i);
        write(h, 600 * K + 5, new byte[] {1});                // block [576K, 640K): in the overlay
        h.zero(64 * K, 128 * K, 0);                           // [64K, 192K): in the overlay
        Extents e = new Extents(0, 1 << 20);
        h.extents(Extents.QEMU_ALLOCATION_DEPTH, 0, 1 << 20, 0, e);
        assertEquals("Extents[0+65536:2, 65536+131072:1, 196608+327680:2, 524288+65536:0, 589824+65536:1, 655360+393216:0]",
                e.toString());
        Extents base = new Extents(0, 1 << 20);
        h.extents(Extents.BASE_ALLOCATION, 0, 1 << 20, 0, base);
        assertEquals("Extents[0+65536:0, 65536+131072:3, 196608+327680:0, 524288+65536:3, 589824+65536:0, 655360+393216:3]",
                base.toString(), "base:allocation is unchanged");
    }

    @Test
    void fastZeroFailsAtOnceOnlyWhereItWouldReadBelow() throws Exception {
        Handle h = cow(source(random(1 << 20, 10)));
        NbdException e = assertThrows(NbdException.class, () -> h.zero(100, 64 * K, Flags.FAST_ZERO));
        assertEquals(NbdError.ENOTSUP, e.error());
        h.zero(128 * K, 128 * K, Flags.FAST_ZERO);            // whole blocks: a state change
        assertArrayEquals(new byte[128 * K], read(h, 128 * K, 128 * K));
        h.zero(128 * K + 5, 100, Flags.FAST_ZERO);            // part of a block already zero
    }

    @Test
    void aHandedOverOverlayKeepsTheSessionsWrites() throws Exception {
        byte[] content = random(1 << 20, 11);
        Source below = source(content);
        CowOptions o = CowOptions.from(new Config(Map.of()), tmp.toString());
        CowInstance first = CowInstance.create(o, new ExportContext("", false), below);
        byte[] d = random(10_000, 12);
        write(handle(first), 70_000, d);
        Object state = first.handOver();
        first.close();
        CowInstance second = CowInstance.create(o, new ExportContext("", false, Optional.of(state)), below);
        open.add(second);
        byte[] model = content.clone();
        System.arraycopy(d, 0, model, 70_000, d.length);
        assertArrayEquals(model, read(handle(second), 0, model.length));
    }

    @Test
    void theOverlayFileIsGoneFromTheDirectoryAtOnce() throws Exception {
        Handle h = cow(source(random(1 << 20, 13)));
        write(h, 0, random(100, 14));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(), files.toList());
        }
    }

    @Test
    void badParametersAreOneLine() {
        assertEquals("cow-block-size: 1000 must be a power of 2 from 4K to 32M",
                assertThrows(ConfigException.class, () -> CowOptions.from(new Config(Map.of("cow-block-size", "1000")), null)).getMessage());
        assertEquals("cow-block-size: 2K must be a power of 2 from 4K to 32M",
                assertThrows(ConfigException.class, () -> CowOptions.from(new Config(Map.of("cow-block-size", "2K")), null)).getMessage());
        assertEquals("cow-on-read: 'maybe' is not true, false or an absolute path",
                assertThrows(ConfigException.class, () -> CowOptions.from(new Config(Map.of("cow-on-read", "maybe")), null)).getMessage());
        assertEquals("cow: cannot keep the overlay in /nonexistent: not a writable directory (set TMPDIR)",
                assertThrows(ConfigException.class, () -> CowInstance.create(CowOptions.from(Config.empty(), "/nonexistent"),
                        new ExportContext("", false), source(new byte[4096]))).getMessage());
    }
}
