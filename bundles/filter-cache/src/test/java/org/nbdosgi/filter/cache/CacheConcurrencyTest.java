package org.nbdosgi.filter.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.nbdosgi.filter.cache.Fixture.pattern;
import static org.nbdosgi.filter.cache.Fixture.read;
import static org.nbdosgi.filter.cache.Fixture.write;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.testkit.RamDisk;

/**
 * Several connections at once, each on its own thread: in the first half of the disk every cache
 * block is shared by all of them (each owns a few hundred interleaved bytes of every 24 KiB, so
 * every write is a read-modify-write racing the others' on the same block); in the second half each
 * owns a stretch and writes long runs. Reads of one's own bytes must always show one's own last
 * write, and in the end the cache and the layer below must equal the model: no torn block, no lost
 * write, no deadlock. A small cache-max-size keeps reclaim busy throughout.
 */
class CacheConcurrencyTest {
    private static final int SIZE = 4 << 20;
    private static final int THREADS = 8;
    private static final int REGION = 24 * 1024;                   // 1.5 cache blocks of 16 KiB
    private static final int SLOT = REGION / THREADS;
    private static final int SHARED = SIZE / 2 / REGION * REGION;
    private static final int STRETCH = (SIZE - SHARED) / THREADS;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"writeback", "writethrough", "unsafe"})
    void parallelConnectionsLoseNothing(String mode) throws Exception {
        RamDisk disk = new RamDisk(SIZE);
        byte[] model = pattern(7, SIZE);
        disk.fill(model);
        Fixture f = new Fixture(tmp, disk, "cache=" + mode, "cache-min-block-size=16K", "cache-max-size=1M",
                "cache-on-read=true");
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<Void>> done = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int me = t;
            Handle h = f.instance.open(new ClientContext("", false, "client " + t, t + 1));
            done.add(pool.submit((Callable<Void>) () -> {
                run(me, h, model);
                return null;
            }));
        }
        for (Future<Void> d : done) {
            d.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        Handle h = f.open();
        assertArrayEquals(model, read(h, 0, SIZE), "the cache");
        if (!mode.equals("unsafe")) {
            h.flush(0);
            assertArrayEquals(model, disk.snapshot(), "the layer below after flush");
        }
        f.close();
        assertArrayEquals(model, disk.snapshot(), "the layer below after the export stopped");
    }

    private static void run(int me, Handle h, byte[] model) throws Exception {
        Random r = new Random(me);
        for (int i = 0; i < 300; i++) {
            int off;
            int len;
            if (r.nextBoolean()) {                                  // my bytes of a shared region
                int slot = r.nextInt(SHARED / REGION) * REGION + me * SLOT;
                off = slot + r.nextInt(SLOT - 1);
                len = 1 + r.nextInt(slot + SLOT - off);
            } else {                                                // my own stretch
                int stretch = SHARED + me * STRETCH;
                off = stretch + r.nextInt(STRETCH - 1);
                len = 1 + r.nextInt(Math.min(stretch + STRETCH - off, 100_000));
            }
            switch (r.nextInt(8)) {
                case 0, 1, 2 -> {
                    byte[] d = pattern(me * 1000L + i, len);
                    write(h, off, d, r.nextInt(4) == 0 ? Flags.FUA : 0);
                    System.arraycopy(d, 0, model, off, len);
                }
                case 3 -> {
                    h.zero(off, len, r.nextBoolean() ? Flags.FUA : 0);
                    Arrays.fill(model, off, off + len, (byte) 0);
                }
                case 4 -> h.flush(0);
                case 5 -> h.cache(r.nextInt(SIZE - 65536), 65536, 0);   // anyone's blocks
                case 6 -> read(h, r.nextInt(SIZE - 65536), 65536);       // anyone's bytes: nothing to check
                default -> assertArrayEquals(Arrays.copyOfRange(model, off, off + len), read(h, off, len),
                        "client " + me + " reads its own bytes at " + off + "+" + len);
            }
        }
    }
}
