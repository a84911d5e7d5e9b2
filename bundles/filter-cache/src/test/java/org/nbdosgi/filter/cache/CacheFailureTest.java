package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.filter.cache.Fixture.pattern;
import static org.nbdosgi.filter.cache.Fixture.read;
import static org.nbdosgi.filter.cache.Fixture.write;

import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/** When the layer below refuses writes: errors reach the client, and dirty data stays until it can go. */
class CacheFailureTest {
    private static final int SIZE = 8 << 20;

    @TempDir
    Path tmp;

    @Test
    void aFailedFlushReportsTheErrorAndKeepsTheBlocksDirty() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            byte[] data = pattern(1, 300_000);
            write(h, 50_000, data, 0);
            f.disk.failWrites = true;
            NbdException e = assertThrows(NbdException.class, () -> h.flush(0));
            assertEquals(NbdError.ENOSPC, e.error(), "the layer below's own error");
            assertTrue(e.getMessage().contains("stay dirty"), e.getMessage());
            assertArrayEquals(new byte[SIZE], f.disk.snapshot());
            assertArrayEquals(data, read(h, 50_000, data.length), "still served from the cache");
            f.disk.failWrites = false;
            h.flush(0);
            assertArrayEquals(data, Arrays.copyOfRange(f.disk.snapshot(), 50_000, 350_000), "written on the next flush");
        }
    }

    @Test
    void aFullCacheOfDirtyBlocksThatCannotBeWrittenBackRefusesNewWrites() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE, "cache-max-size=1M")) {
            Handle h = f.open();
            byte[] first = pattern(2, 900_000);
            write(h, 0, first, 0);
            f.disk.failWrites = true;
            NbdException e = assertThrows(NbdException.class, () -> write(h, 4 << 20, pattern(3, 1 << 20), 0));
            assertEquals(NbdError.ENOSPC, e.error());
            assertArrayEquals(first, read(h, 0, first.length), "nothing acknowledged was dropped");
            f.disk.failWrites = false;
            byte[] second = pattern(4, 1 << 20);
            write(h, 4 << 20, second, 0);
            h.flush(0);
            byte[] lower = f.disk.snapshot();
            assertArrayEquals(first, Arrays.copyOf(lower, first.length));
            assertArrayEquals(second, Arrays.copyOfRange(lower, 4 << 20, 5 << 20));
        }
    }

    @Test
    void aFailedFuaWriteIsAnError() throws Exception {
        try (Fixture f = new Fixture(tmp, SIZE)) {
            Handle h = f.open();
            f.disk.failWrites = true;
            assertThrows(NbdException.class, () -> write(h, 0, pattern(5, 4096), org.nbdosgi.api.Flags.FUA));
        }
    }
}
