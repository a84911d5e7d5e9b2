package org.nbdosgi.filter.cbt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.Extents;

class DirtyBitmapTest {
    static final int K64 = 65536;

    /** The bitmap's extents over [offset, end) as "offset+length:type" strings. */
    static List<String> runs(DirtyBitmap b, long offset, long length, long end) throws Exception {
        Extents e = new Extents(offset, end);
        b.extents(offset, length, false, e);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < e.count(); i++) {
            out.add(e.offset(i) + "+" + e.length(i) + ":" + e.type(i));
        }
        return out;
    }

    @Test
    void writesMarkEveryBlockTheyTouch() throws Exception {
        DirtyBitmap b = new DirtyBitmap("b", K64, true);
        b.mark(100, 10);                                      // block 0
        b.mark(3 * K64 - 1, 2);                               // blocks 2 and 3
        b.mark(10L * K64, 64L * K64);                         // blocks 10..73: crosses a word
        assertEquals(List.of("0+65536:1", "65536+65536:0", "131072+131072:1", "262144+393216:0", "655360+4194304:1",
                "4849664+5636096:0"), runs(b, 0, 10L << 20, 10L << 20));
        assertEquals(1 + 2 + 64, b.dirtyBlocks());
    }

    @Test
    void extentsStartAnywhereAndStopAfterTheRunThatCoversTheRequest() throws Exception {
        DirtyBitmap b = new DirtyBitmap("b", K64, true);
        b.mark(0, 4L * K64);
        b.mark(8L * K64, K64);
        assertEquals(List.of("1000+261144:1"), runs(b, 1000, 10, 1 << 20), "the dirty run holding the request, whole");
        assertEquals(List.of("262144+262144:0", "524288+65536:1"), runs(b, 4L * K64, 5L * K64, 1 << 20));
        Extents one = new Extents(0, 1 << 20);
        b.extents(0, 1 << 20, true, one);
        assertEquals(1, one.count(), "REQ_ONE");
    }

    @Test
    void aBitmapOverAHugeUntouchedExportCostsNothing() throws Exception {
        DirtyBitmap b = new DirtyBitmap("b", 512, true);
        long end = Long.MAX_VALUE - 511;
        b.mark(end - 1024, 1024);
        assertEquals(List.of("0+" + (end - 1024) + ":0", (end - 1024) + "+1024:1"), runs(b, 0, end, end));
        assertEquals(2, b.dirtyBlocks());
    }

    @Test
    void clearingStartsOverAndAnInconsistentBitmapIsAllDirtyUntilCleared() throws Exception {
        DirtyBitmap b = new DirtyBitmap("b", K64, true);
        b.mark(0, K64);
        b.markInconsistent();
        assertEquals(List.of("0+1048576:1"), runs(b, 0, 4096, 1 << 20));
        b.clear();
        assertTrue(b.consistent());
        assertEquals(List.of("0+1048576:0"), runs(b, 0, 4096, 1 << 20));
    }

    @Test
    void whatIsWrittenReadsBackAndAnInUseCopyComesBackInconsistent() throws Exception {
        DirtyBitmap b = new DirtyBitmap("b", 4096, true);
        b.mark(5L << 30, 8192);
        ByteArrayOutputStream saved = new ByteArrayOutputStream();
        b.write(saved, false);
        DirtyBitmap back = DirtyBitmap.read("b", new ByteArrayInputStream(saved.toByteArray()));
        assertTrue(back.consistent());
        assertEquals(4096, back.granularity());
        assertEquals(runs(b, 0, 6L << 30, 6L << 30), runs(back, 0, 6L << 30, 6L << 30));

        ByteArrayOutputStream inUse = new ByteArrayOutputStream();
        b.write(inUse, true);
        assertFalse(DirtyBitmap.read("b", new ByteArrayInputStream(inUse.toByteArray())).consistent());
    }

    @Test
    void granularityIsAPowerOfTwoInRange() {
        assertThrows(IllegalArgumentException.class, () -> new DirtyBitmap("b", 1000, true));
        assertThrows(IllegalArgumentException.class, () -> new DirtyBitmap("b", 256, true));
    }
}
