package org.nbdosgi.plugin.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.PluginInstance;

class MemoryPluginTest {
    private static final ClientContext CLIENT = new ClientContext("", false, "test", 1);
    private final MemoryPlugin plugin = new MemoryPlugin();

    private PluginInstance instance(String size) throws ConfigException {
        return plugin.create(new Config(Map.of("size", size)), new ExportContext("", false));
    }

    private static ByteBuffer filled(int n, int value) {
        ByteBuffer b = ByteBuffer.allocateDirect(n);
        for (int i = 0; i < n; i++) {
            b.put(i, (byte) value);
        }
        return b;
    }

    private static int byteAt(Handle h, long offset) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(1);
        h.read(b, offset, 0);
        return b.get(0);
    }

    @Test
    void writesAcrossPagesReadBackAndUnwrittenReadsAreZero() throws Exception {
        Handle h = instance("1M").open(CLIENT);
        long at = MemoryPlugin.PAGE_SIZE - 100;
        h.write(filled(300, 9), at, 0);
        assertEquals(9, byteAt(h, at));
        assertEquals(9, byteAt(h, at + 299));
        assertEquals(0, byteAt(h, at + 300));
        assertEquals(0, byteAt(h, 0));
    }

    @Test
    void memoryFollowsTheDataWrittenNotTheVirtualSize() throws Exception {
        PluginInstance inst = instance("7E");
        Handle h = inst.open(CLIENT);
        assertEquals(7L << 60, h.size());
        h.write(filled(4096, 1), 1L << 50, 0);
        h.write(filled(4096, 1), (7L << 60) - 4096, 0);
        Pages pages = pagesOf(inst);
        assertEquals(2, pages.allocated());
        h.trim(1L << 50, MemoryPlugin.PAGE_SIZE, 0);
        assertEquals(1, pages.allocated());
    }

    @Test
    void partialZeroClearsInPlaceAndWholePagesAreFreed() throws Exception {
        PluginInstance inst = instance("1M");
        Handle h = inst.open(CLIENT);
        h.write(filled(2 * MemoryPlugin.PAGE_SIZE, 5), 0, 0);
        h.zero(10, 20, 0);
        assertEquals(5, byteAt(h, 9));
        assertEquals(0, byteAt(h, 10));
        assertEquals(0, byteAt(h, 29));
        assertEquals(5, byteAt(h, 30));
        assertEquals(2, pagesOf(inst).allocated());
        h.zero(MemoryPlugin.PAGE_SIZE, MemoryPlugin.PAGE_SIZE, 0);
        assertEquals(1, pagesOf(inst).allocated());
    }

    @Test
    void extentsShowAllocatedPagesAsDataAndTheRestAsZeroHoles() throws Exception {
        Handle h = instance("1M").open(CLIENT);
        h.write(filled(10, 1), MemoryPlugin.PAGE_SIZE * 2L + 5, 0);
        Extents e = new Extents(0, h.size());
        h.extents(0, h.size(), 0, e);
        assertEquals(3, e.count());
        assertEquals(Extents.HOLE | Extents.ZERO, e.type(0));
        assertEquals(2L * MemoryPlugin.PAGE_SIZE, e.length(0));
        assertEquals(0, e.type(1));
        assertEquals(MemoryPlugin.PAGE_SIZE, e.length(1));
        assertEquals((1 << 20) - 3L * MemoryPlugin.PAGE_SIZE, e.length(2));
    }

    @Test
    void extentsAtTheVeryEndOfTheLargestDisk() throws Exception {
        Handle h = instance(Long.toString(Long.MAX_VALUE)).open(CLIENT);
        long off = Long.MAX_VALUE - 4096;
        Extents e = new Extents(off, h.size());
        h.extents(off, 4096, 0, e);
        assertEquals(1, e.count());
        assertEquals(4096, e.length(0));
    }

    @Test
    void holesSkipWholeMissingSubtrees() throws Exception {
        Handle h = instance("7E").open(CLIENT);
        h.write(filled(1, 1), 5L << 50, 0);
        Extents e = new Extents(1L << 60, h.size());
        long t0 = System.nanoTime();
        h.extents(1L << 60, 0xFFFFFFFFL, 0, e);
        assertEquals(1, e.count());
        assertEquals(Extents.HOLE | Extents.ZERO, e.type(0));
        assertEquals(true, e.length(0) >= 0xFFFFFFFFL);
        Extents around = new Extents((5L << 50) - MemoryPlugin.PAGE_SIZE, h.size());
        h.extents((5L << 50) - MemoryPlugin.PAGE_SIZE, 3L * MemoryPlugin.PAGE_SIZE, 0, around);
        assertEquals(3, around.count());
        assertEquals(0, around.type(1));
        assertEquals(true, System.nanoTime() - t0 < 1_000_000_000L, "a 4 GiB hole is found without visiting each page");
    }

    @Test
    void aSuccessorAdoptsTheHandedOverPages() throws Exception {
        PluginInstance old = instance("1M");
        old.open(CLIENT).write(filled(100, 3), 1000, 0);
        Object state = old.handOver();
        PluginInstance next = plugin.create(new Config(Map.of("size", "1M")), new ExportContext("", false, Optional.of(state)));
        assertEquals(3, byteAt(next.open(CLIENT), 1000));
        PluginInstance grown = plugin.create(new Config(Map.of("size", "2M")), new ExportContext("", false, Optional.of(state)));
        assertEquals(3, byteAt(grown.open(CLIENT), 1000), "a larger successor keeps the data");
        PluginInstance shrunk = plugin.create(new Config(Map.of("size", "1050")), new ExportContext("", false, Optional.of(grown.handOver())));
        assertEquals(3, byteAt(shrunk.open(CLIENT), 1049));
        PluginInstance regrown = plugin.create(new Config(Map.of("size", "1M")), new ExportContext("", false, Optional.of(shrunk.handOver())));
        assertEquals(0, byteAt(regrown.open(CLIENT), 1050), "bytes beyond a smaller size are gone for good");
    }

    @Test
    void sizeIsValidated() {
        assertThrows(ConfigException.class, () -> instance("lots"));
        assertEquals("size: size too large: '8E' (the largest is 2^63-1 bytes)",
                assertThrows(ConfigException.class, () -> instance("8E")).getMessage());
    }

    private static Pages pagesOf(PluginInstance inst) {
        return Pages.adopt(Long.MAX_VALUE, (Map<?, ?>) inst.handOver());
    }

    @Test
    void allocatorSparseAndMallocServeTheSamePagesZstdAndMlockAreRefused() throws Exception {
        for (String allocator : new String[] {"sparse", "malloc", "malloc,mlock=false"}) {
            Handle h = plugin.create(new Config(Map.of("size", "1M", "allocator", allocator)), new ExportContext("", false)).open(CLIENT);
            h.write(filled(10, 4), 100, 0);
            assertEquals(4, byteAt(h, 105), allocator);
        }
        assertEquals("allocator: zstd is not supported (the pages are not compressed; use sparse)",
                assertThrows(ConfigException.class, () -> plugin.create(new Config(Map.of("size", "1M", "allocator", "zstd")),
                        new ExportContext("", false))).getMessage());
        assertEquals("allocator: 'mlock=true' is not supported (the JVM cannot lock its memory in RAM)",
                assertThrows(ConfigException.class, () -> plugin.create(new Config(Map.of("size", "1M", "allocator", "malloc,mlock=true")),
                        new ExportContext("", false))).getMessage());
        assertThrows(ConfigException.class, () -> plugin.create(new Config(Map.of("size", "1M", "allocator", "slab")),
                new ExportContext("", false)));
    }
}
