package org.nbdosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ExtentsTest {
    @Test
    void clipsToTheRangeAndMergesNeighbours() throws Exception {
        Extents e = new Extents(1000, 10_000);
        e.add(0, 4096, 0);                      // starts before the range: clipped to 1000
        e.add(4096, 4096, 0);                   // same type: merged
        e.add(8192, 4096, Extents.HOLE | Extents.ZERO);   // runs past the end: clipped
        assertEquals(2, e.count());
        assertEquals(1000, e.offset(0));
        assertEquals(8192 - 1000, e.length(0));
        assertEquals(0, e.type(0));
        assertEquals(8192, e.offset(1));
        assertEquals(10_000 - 8192, e.length(1));
        assertEquals(Extents.HOLE | Extents.ZERO, e.type(1));
        assertTrue(e.isFull());
        e.add(20_000, 10, 0);                   // beyond the end: ignored
        assertEquals(2, e.count());
    }

    @Test
    void refusesGaps() throws Exception {
        Extents e = new Extents(0, 100);
        e.add(0, 10, 0);
        NbdException x = assertThrows(NbdException.class, () -> e.add(20, 10, 0));
        assertEquals(NbdError.EIO, x.error());
    }

    @Test
    void ignoresWhatIsAlreadyCoveredAndEmptyExtents() throws Exception {
        Extents e = new Extents(0, 100);
        e.add(0, 50, 0);
        e.add(10, 20, 1);                       // wholly covered already
        e.add(50, 0, 1);
        assertEquals(1, e.count());
        assertEquals(50, e.covered());
    }

    @Test
    void extentsNearTheLargestOffsetDoNotOverflow() throws Exception {
        long end = Long.MAX_VALUE;
        Extents e = new Extents(end - 4096, end);
        e.add(end - 4096, 1 << 20, Extents.HOLE);
        assertEquals(1, e.count());
        assertEquals(4096, e.length(0));
    }
}
