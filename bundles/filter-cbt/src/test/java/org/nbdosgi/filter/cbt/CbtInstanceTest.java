package org.nbdosgi.filter.cbt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.testkit.RamDisk;

/** The cbt filter over a RAM disk: marking, the meta contexts, and what survives a hand-over, a clean stop and a crash. */
class CbtInstanceTest {
    static final ClientContext CLIENT = RamDisk.CLIENT;
    static final long SIZE = 16L << 20;

    @TempDir
    Path state;

    /** The layer below: a writable disk that offers one context of its own. */
    final RamDisk below = new RamDisk((int) SIZE).offering("qemu:allocation-depth");

    final LiveBitmaps live = new LiveBitmaps();

    CbtInstance start(Object inherited) throws Exception {
        return (CbtInstance) new CbtFilter(live).create(Config.empty(),
                new ExportContext("vm", false, Optional.ofNullable(inherited), Optional.of(state)), below);
    }

    static List<String> dirty(Handle h, String bitmap) throws IOException {
        Extents e = new Extents(0, SIZE);
        h.extents(Extents.QEMU_DIRTY_BITMAP + bitmap, 0, SIZE, 0, e);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < e.count(); i++) {
            if (e.type(i) == Extents.DIRTY) {
                out.add(e.offset(i) + "+" + e.length(i));
            }
        }
        return out;
    }

    @Test
    void writesZerosAndTrimsMarkEveryBitmapWhichClientsReadAsAMetaContext() throws Exception {
        CbtInstance cbt = start(null);
        cbt.add("daily", 65536);
        cbt.add("fine", 4096);
        assertEquals(List.of("qemu:allocation-depth", "qemu:dirty-bitmap:daily", "qemu:dirty-bitmap:fine"), cbt.metaContexts());
        Handle h = cbt.open(CLIENT);
        h.write(ByteBuffer.allocate(100), 70000, 0);
        h.zero(1 << 20, 8192, 0);
        h.trim(2 << 20, 4096, 0);
        assertEquals(List.of("65536+65536", "1048576+65536", "2097152+65536"), dirty(h, "daily"));
        assertEquals(List.of("69632+4096", "1048576+8192", "2097152+4096"), dirty(h, "fine"));
        assertThrows(org.nbdosgi.api.NbdException.class, () -> dirty(h, "nosuch"), "not ours: the layer below's, which has none");
        cbt.clear("daily");
        assertEquals(List.of(), dirty(h, "daily"));
        cbt.close();
    }

    @Test
    void aCleanStopKeepsTheBitmapsAndACrashLeavesThemInconsistent() throws Exception {
        CbtInstance first = start(null);
        first.add("b", 65536);
        first.open(CLIENT).write(ByteBuffer.allocate(10), 0, 0);
        first.close();
        CbtInstance second = start(null);
        Handle h = second.open(CLIENT);
        assertEquals(List.of("0+65536"), dirty(h, "b"), "saved at the stop, read back at the start");
        h.write(ByteBuffer.allocate(10), 1 << 20, 0);
        // no close: the server is killed; the file still says "in use"
        CbtInstance third = start(null);
        assertEquals(List.of("0+" + SIZE), dirty(third.open(CLIENT), "b"), "inconsistent: every block dirty");
        assertTrue(third.status().get(0).contains("INCONSISTENT"), third.status().toString());
        third.clear("b");
        assertEquals(List.of(), dirty(third.open(CLIENT), "b"));
        assertEquals(List.of("bitmap b: granularity 64K, 0 blocks dirty (0)", "kept in " + state.resolve("cbt")), third.status());
        third.close();
    }

    @Test
    void aSuccessorAdoptsTheBitmapsHandedOver() throws Exception {
        CbtInstance old = start(null);
        old.add("b", 65536);
        old.open(CLIENT).write(ByteBuffer.allocate(10), 3 << 20, 0);
        Object handed = old.handOver();
        old.close();
        CbtInstance successor = start(handed);
        assertEquals(List.of("3145728+65536"), dirty(successor.open(CLIENT), "b"));
        // the successor runs: a crash now must find the bitmap in use
        assertFalse(start(null).bitmaps().get(0).consistent());
    }

    @Test
    void removingTheFilterFromARunningExportMakesItsBitmapsInconsistent() throws Exception {
        CbtInstance cbt = start(null);
        cbt.add("b", 65536);
        cbt.removed();
        cbt.close();
        assertFalse(start(null).bitmaps().get(0).consistent(), "writes went on without the filter");
    }

    @Test
    void removedBitmapsAreGoneFromDiskAndNamesAreChecked() throws Exception {
        CbtInstance cbt = start(null);
        cbt.add("b", 65536);
        assertTrue(Files.exists(state.resolve("cbt/b.bitmap")));
        assertEquals("export 'vm' already has a bitmap named 'b'", assertThrows(IllegalArgumentException.class,
                () -> cbt.add("b", 65536)).getMessage());
        cbt.remove("b");
        assertFalse(Files.exists(state.resolve("cbt/b.bitmap")));
        assertEquals("export 'vm' has no bitmap named 'b' (it has none)", assertThrows(IllegalArgumentException.class,
                () -> cbt.clear("b")).getMessage());
        assertEquals(cbt, live.of("vm"));
        cbt.close();
        assertEquals("export 'vm' has no running cbt filter (none has; add one with nbd:filter-insert 'vm' cbt)",
                assertThrows(IllegalArgumentException.class, () -> live.of("vm")).getMessage());
    }
}
