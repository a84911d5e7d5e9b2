package org.nbdosgi.plugin.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.Support;

/** The plugin's handle against a real nbdkit on a Unix socket. */
class NbdPluginTest {
    @TempDir
    Path dir;

    static PluginInstance instance(String... kv) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : kv) {
            int eq = s.indexOf('=');
            m.put(s.substring(0, eq), s.substring(eq + 1));
        }
        return new NbdPlugin().create(new Config(m), new ExportContext("", false));
    }

    static Handle open(PluginInstance i) throws Exception {
        return i.open(new ClientContext("", false, "test", 1));
    }

    static ByteBuffer random(int n) {
        byte[] b = new byte[n];
        ThreadLocalRandom.current().nextBytes(b);
        return ByteBuffer.allocateDirect(n).put(b).flip();
    }

    @Test
    void theUpstreamsLatencyIsPublishedPerCommand() throws Exception {
        try (Nbdkit up = Nbdkit.start(dir, "up", "memory", "64M")) {
            PluginInstance instance = instance("socket=" + up.socket());
            try (Handle h = open(instance)) {
                for (int i = 0; i < 3; i++) {
                    h.write(random(4096), i * 4096L, 0);
                }
                h.read(ByteBuffer.allocateDirect(8192), 0, 0);
                h.flush(0);
            }
            Map<String, Long> counts = new LinkedHashMap<>();
            instance.metrics(new MetricSink() {
                @Override
                public void counter(String name, String help, double value, String... labels) {
                    assertEquals(0, (long) value, "no failures: " + labels[1]);
                }

                @Override
                public void gauge(String name, String help, double value, String... labels) {
                }

                @Override
                public void latency(String name, String help, LatencyHistogram histogram, String... labels) {
                    counts.put(labels[1], histogram.count());
                }
            });
            assertEquals(Map.of("write", 3L, "read", 1L, "flush", 1L), counts);
            instance.close();
        }
    }

    @Test
    void readsWritesAndPassesTheUpstreamsCapabilities() throws Exception {
        try (Nbdkit up = Nbdkit.start(dir, "up", "memory", "64M");
             Handle h = open(instance("socket=" + up.socket()))) {
            assertEquals(64L << 20, h.size());
            assertTrue(h.canWrite());
            assertTrue(h.canFlush());
            assertEquals(Support.NATIVE, h.canFua());
            assertEquals(Support.NATIVE, h.canZero());
            assertTrue(h.canTrim());
            assertTrue(h.canExtents());
            assertTrue(h.canMultiConn());
            ByteBuffer data = random(1 << 20);
            h.write(data, 4096, Flags.FUA);
            assertEquals(0, data.position(), "the buffer is left as it was");
            ByteBuffer back = ByteBuffer.allocateDirect(1 << 20);
            h.read(back, 4096, 0);
            assertEquals(data, back);
            h.flush(0);

            h.zero(4096, 65536, 0);
            ByteBuffer z = ByteBuffer.allocateDirect(65536);
            h.read(z, 4096, 0);
            assertEquals(ByteBuffer.allocateDirect(65536), z);

            Extents e = new Extents(0, 64L << 20);
            h.extents(0, 64L << 20, 0, e);
            assertTrue(e.count() >= 2, e.toString());
            assertEquals(Extents.HOLE | Extents.ZERO, e.type(0), "nbdkit's memory plugin: the start is a hole: " + e);
        }
    }

    @Test
    void manyRequestsAtOnceOnOneConnection() throws Exception {
        try (Nbdkit up = Nbdkit.start(dir, "up", "--threads=64", "--filter=delay", "memory", "64M", "rdelay=200ms");
             Handle h = open(instance("socket=" + up.socket()))) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            long start = System.nanoTime();
            for (int i = 0; i < 32; i++) {
                long off = i * 4096L;
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        h.read(ByteBuffer.allocateDirect(4096), off, 0);
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(List.of(), failures);
            assertTrue(millis < 3200, "32 reads of 200 ms on one upstream connection took " + millis + " ms: not in parallel");
        }
    }

    @Test
    void aServerThatGoesAwayFailsRequestsWithEioAndTheNextOpenReconnects() throws Exception {
        PluginInstance i;
        Handle h;
        try (Nbdkit up = Nbdkit.start(dir, "up", "memory", "1M")) {
            i = instance("socket=" + up.socket());
            h = open(i);
            h.read(ByteBuffer.allocateDirect(512), 0, 0);
            up.kill();
            NbdException e = assertThrows(NbdException.class, () -> {
                for (int n = 0; n < 100; n++) {               // the first may still be in the socket's buffers
                    h.read(ByteBuffer.allocateDirect(512), 0, 0);
                    Thread.sleep(10);
                }
            });
            assertEquals(NbdError.EIO, e.error());
            assertTrue(e.getMessage().contains("connection"), e.getMessage());
        }
        NbdException refused = assertThrows(NbdException.class, () -> open(i));
        assertTrue(refused.getMessage().startsWith("upstream " + dir.resolve("up.sock")), refused.getMessage());
        h.close();
        try (Nbdkit up = Nbdkit.start(dir, "up", "memory", "1M");
             Handle again = open(i)) {
            again.read(ByteBuffer.allocateDirect(512), 0, 0);
            assertFalse(!again.canWrite());
        }
    }
}
