package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.filter.cache.Fixture.pattern;
import static org.nbdosgi.filter.cache.Fixture.read;
import static org.nbdosgi.filter.cache.Fixture.write;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.testkit.RamDisk;

/**
 * Random unaligned writes, zeros, trims, FUA and flushes against a model byte array, in every mode,
 * with and without a size limit small enough to reclaim all the time. Trimmed ranges are written
 * again before they are compared (their content is unspecified until then).
 */
class CacheModelTest {
    private static final int SIZE = 3 << 20;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({
        "writeback, , false", "writeback, 1M, false", "writeback, 1M, true",
        "writethrough, , false", "writethrough, 1M, true",
        "unsafe, , false", "unsafe, 1M, true"})
    void randomRequestsMatchTheModel(String mode, String maxSize, boolean cacheOnRead) throws Exception {
        String[] params = maxSize == null
                ? new String[] {"cache=" + mode, "cache-on-read=" + cacheOnRead, "cache-min-block-size=16K"}
                : new String[] {"cache=" + mode, "cache-on-read=" + cacheOnRead, "cache-min-block-size=16K", "cache-max-size=" + maxSize};
        RamDisk disk = new RamDisk(SIZE);
        byte[] model = pattern(99, SIZE);
        disk.fill(model);
        Random r = new Random(mode.hashCode() * 31L + (maxSize == null ? 0 : 1) + (cacheOnRead ? 2 : 0));
        Fixture f = new Fixture(tmp, disk, params);
        Handle h = f.open();
        for (int i = 0; i < 400; i++) {
            int off = r.nextInt(SIZE - 1);
            int len = 1 + r.nextInt(Math.min(SIZE - off, 200_000));
            int flags = r.nextInt(5) == 0 ? Flags.FUA : 0;
            switch (r.nextInt(10)) {
                case 0, 1, 2, 3 -> {
                    byte[] d = pattern(i, len);
                    write(h, off, d, flags);
                    System.arraycopy(d, 0, model, off, len);
                }
                case 4 -> {
                    h.zero(off, len, flags | (r.nextBoolean() ? Flags.MAY_TRIM : 0));
                    Arrays.fill(model, off, off + len, (byte) 0);
                }
                case 5 -> {
                    h.trim(off, len, flags);                    // then defined again by a write
                    byte[] d = pattern(-i, len);
                    write(h, off, d, 0);
                    System.arraycopy(d, 0, model, off, len);
                }
                case 6 -> h.flush(0);
                case 7 -> h.cache(off, len, 0);
                default -> assertArrayEquals(Arrays.copyOfRange(model, off, off + len), read(h, off, len), "read " + i);
            }
            if (mode.equals("writethrough")) {
                assertArrayEquals(model, disk.snapshot(), "writethrough: the layer below after request " + i);
            }
            if (maxSize != null && i % 50 == 0) {
                assertTrue(Fixture.allocatedBytes(tmp) <= 1 << 20, "cache file within cache-max-size: " + Fixture.allocatedBytes(tmp));
            }
        }
        assertArrayEquals(model, read(h, 0, SIZE), "everything reads back");
        if (!mode.equals("unsafe")) {
            h.flush(0);
            assertArrayEquals(model, disk.snapshot(), "the layer below after flush");
        }
        f.close();
        assertArrayEquals(model, disk.snapshot(), "the layer below after the export stopped");
    }
}
