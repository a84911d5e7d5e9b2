package org.nbdosgi.filter.delay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.testkit.RamDisk;

class DelayFilterTest {
    private static final ClientContext CLIENT = RamDisk.CLIENT;

    /** The layer below: answers at once and counts what reaches it. */
    private final RamDisk below = new RamDisk(1 << 20);

    private Handle open(Map<String, String> params) throws IOException, ConfigException {
        return new DelayFilter().create(new Config(params), new ExportContext("", false), below).open(CLIENT);
    }

    private static long millis(IoAction action) throws Exception {
        long start = System.nanoTime();
        action.run();
        return (System.nanoTime() - start) / 1_000_000;
    }

    private interface IoAction {
        void run() throws Exception;
    }

    @Test
    void readWaitsAtLeastTheDelayThenReachesTheLayerBelow() throws Exception {
        Handle h = open(Map.of("rdelay", "30ms"));
        long took = millis(() -> h.read(ByteBuffer.allocateDirect(512), 0, 0));
        assertTrue(took >= 30, "read took " + took + " ms");
        assertEquals(1, below.calls());
        assertTrue(millis(() -> h.write(ByteBuffer.allocateDirect(512), 0, 0)) < 25, "writes are not delayed by rdelay");
    }

    @Test
    void wdelayCoversWriteZeroAndTrimUnlessOverridden() throws Exception {
        Delays d = Delays.from(new Config(Map.of("wdelay", "1s", "delay-trim", "5ms")));
        assertEquals(Duration.ofSeconds(1), d.write());
        assertEquals(Duration.ofSeconds(1), d.zero());
        assertEquals(Duration.ofMillis(5), d.trim());
        assertEquals(Duration.ZERO, d.read());
        assertEquals(Duration.ZERO, d.flush(), "wdelay does not delay flush, as in nbdkit");
        Delays w = Delays.from(new Config(Map.of("delay-write", "500us")));
        assertEquals(Duration.ofNanos(500_000), w.write());
        assertEquals(Duration.ZERO, w.zero(), "delay-write delays writes only, as in nbdkit");
    }

    @Test
    void everyOperationHasItsOwnDelay() throws Exception {
        Handle h = open(Map.of("delay-flush", "20ms", "delay-zero", "20ms", "delay-trim", "20ms", "delay-cache", "20ms",
                "delay-extents", "20ms"));
        assertTrue(millis(() -> h.flush(0)) >= 20);
        assertTrue(millis(() -> h.zero(0, 4096, 0)) >= 20);
        assertTrue(millis(() -> h.trim(0, 4096, 0)) >= 20);
        assertTrue(millis(() -> h.cache(0, 4096, 0)) >= 20);
        assertTrue(millis(() -> h.extents(0, 4096, 0, new org.nbdosgi.api.Extents(0, 1 << 20))) >= 20);
        assertEquals(4, below.calls(), "flush, zero, trim and cache reached the layer below");
    }

    @Test
    void openAndCloseDelays() throws Exception {
        Handle[] h = new Handle[1];
        assertTrue(millis(() -> h[0] = open(Map.of("delay-open", "20ms", "delay-close", "20ms"))) >= 20);
        assertTrue(millis(() -> h[0].close()) >= 20);
    }

    @Test
    void fastZeroFailsAtOnceWhenAskedTo() throws Exception {
        Handle h = open(Map.of("delay-zero", "1s", "delay-fast-zero", "false"));
        assertTrue(h.canFastZero());
        long start = System.nanoTime();
        NbdException e = assertThrows(NbdException.class, () -> h.zero(0, 4096, Flags.FAST_ZERO));
        assertEquals(NbdError.ENOTSUP, e.error());
        assertTrue(System.nanoTime() - start < 500_000_000L, "refused without waiting");
        assertEquals(0, below.calls());
        Handle undelayed = open(Map.of("delay-fast-zero", "false"));
        undelayed.zero(0, 4096, Flags.FAST_ZERO);
        assertEquals(1, below.calls(), "nothing to refuse when zeros are not delayed");
    }

    @Test
    void badDurationsNameTheParameter() {
        ConfigException e = assertThrows(ConfigException.class, () -> open(Map.of("rdelay", "10 parsecs")));
        assertEquals("rdelay: unknown unit in duration '10 parsecs' (use ns, us, ms, s, m or h)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> open(Map.of("delay-close", "-1s")));
        assertTrue(e.getMessage().startsWith("delay-close: "), e.getMessage());
        e = assertThrows(ConfigException.class, () -> open(Map.of("delay-fast-zero", "maybe")));
        assertTrue(e.getMessage().startsWith("delay-fast-zero: "), e.getMessage());
    }

    /** 128 delayed reads in flight, each on its own virtual thread: no platform thread per sleeper. */
    @Test
    void manyDelayedRequestsInParallelCostNoPlatformThreads() throws Exception {
        Handle h = open(Map.of("rdelay", "200ms"));
        int before = ManagementFactory.getThreadMXBean().getThreadCount();
        int[] during = new int[1];
        long start = System.nanoTime();
        List<Thread> requests = new ArrayList<>();
        for (int i = 0; i < 128; i++) {
            long offset = i * 512L;
            requests.add(Thread.ofVirtual().start(() -> {
                try {
                    h.read(ByteBuffer.allocateDirect(512), offset, 0);
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }));
        }
        Thread.sleep(100);
        during[0] = ManagementFactory.getThreadMXBean().getThreadCount();
        for (Thread t : requests) {
            t.join();
        }
        long took = (System.nanoTime() - start) / 1_000_000;
        assertEquals(128, below.calls());
        assertTrue(took < 128 * 200 / 8, "128 reads of 200 ms took " + took + " ms: they did not wait in parallel");
        assertTrue(during[0] - before < 16, "platform threads went from " + before + " to " + during[0]);
    }
}
