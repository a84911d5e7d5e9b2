package org.nbdosgi.filter.retry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

class RetryFilterTest {
    private static final ClientContext CLIENT = new ClientContext("", false, "test", 1);

    /**
     * The layers below: a disk whose handles break when told to (every request on a broken
     * handle fails, as on a lost connection) and a reopen that gives a working handle once the
     * "server" is back. Counts opens and what reached it.
     */
    static final class Flaky implements Layer {
        final byte[] disk = new byte[1 << 20];
        final AtomicInteger opens = new AtomicInteger();
        final List<Boolean> readOnlyOpens = Collections.synchronizedList(new ArrayList<>());
        volatile int refuseOpens;                // the next this many opens fail
        volatile long size = disk.length;
        volatile Disk current;

        final class Disk implements Handle {
            final boolean readOnly;
            volatile boolean broken;
            volatile boolean closed;

            Disk(boolean readOnly) {
                this.readOnly = readOnly;
            }

            private void check() throws IOException {
                if (broken || closed) {
                    throw new NbdException(NbdError.EIO, closed ? "closed" : "connection lost");
                }
            }

            public long size() {
                return size;
            }

            public boolean canWrite() {
                return !readOnly;
            }

            public boolean canFlush() {
                return true;
            }

            public boolean canExtents() {
                return true;
            }

            public Support canZero() {
                return Support.NATIVE;
            }

            public void read(ByteBuffer buf, long offset, int flags) throws IOException {
                check();
                buf.duplicate().put(disk, (int) offset, buf.remaining());
            }

            public void write(ByteBuffer buf, long offset, int flags) throws IOException {
                check();
                buf.duplicate().get(disk, (int) offset, buf.remaining());
            }

            public void flush(int flags) throws IOException {
                check();
            }

            public void zero(long offset, long length, int flags) throws IOException {
                if (Flags.has(flags, Flags.FAST_ZERO)) {
                    throw new NbdException(NbdError.ENOTSUP, "not fast");
                }
                check();
            }

            public void extents(long offset, long length, int flags, Extents extents) throws IOException {
                if (broken) {
                    extents.add(offset, 4096, Extents.HOLE | Extents.ZERO);   // a partial answer, then the failure
                }
                check();
                extents.add(offset, 4096, 0);
                extents.add(offset + 4096, length - 4096, Extents.HOLE);
            }

            public void close() {
                closed = true;
            }
        }

        Disk openDisk(ClientContext client) throws IOException {
            opens.incrementAndGet();
            readOnlyOpens.add(client.readOnly());
            if (refuseOpens > 0) {
                refuseOpens--;
                throw new NbdException(NbdError.EIO, "server down");
            }
            current = new Disk(client.readOnly());
            return current;
        }

        public Handle open(ClientContext client) throws IOException {
            return openDisk(client);
        }

        public Handle reopen(Handle handle, ClientContext client) throws IOException {
            handle.close();
            return openDisk(client);
        }

        public List<ExportEntry> listExports(boolean readOnly) {
            return List.of();
        }

        public String defaultExport() {
            return "";
        }
    }

    static Handle open(Flaky below, String... kv) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : kv) {
            m.put(s.substring(0, s.indexOf('=')), s.substring(s.indexOf('=') + 1));
        }
        return new RetryFilter().create(new Config(m), new ExportContext("", false), below).open(CLIENT);
    }

    @Test
    void aFailedReadIsRetriedOnAReopenedHandleAndSucceeds() throws Exception {
        Flaky below = new Flaky();
        below.disk[100] = 42;
        Handle h = open(below, "retry-delay=10ms");
        below.current.broken = true;
        below.refuseOpens = 2;                                    // the server comes back on the third reopen
        ByteBuffer b = ByteBuffer.allocateDirect(512);
        h.read(b, 0, 0);
        assertEquals(42, b.get(100));
        assertEquals(4, below.opens.get(), "the first open and three reopens");
    }

    @Test
    void afterTheRetriesTheLastErrorReachesTheClientWithExponentialDelays() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retries=3", "retry-delay=20ms");
        below.current.broken = true;
        below.refuseOpens = 100;
        long start = System.nanoTime();
        NbdException e = assertThrows(NbdException.class, () -> h.write(ByteBuffer.allocateDirect(512), 0, 0));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(NbdError.EIO, e.error());
        assertEquals(4, below.opens.get(), "the first open and one reopen per retry");
        assertTrue(millis >= 20 + 40 + 80, "waited 20, 40 and 80 ms: " + millis);
    }

    @Test
    void withoutExponentialBackOffEveryWaitIsTheSame() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retries=3", "retry-delay=30ms", "retry-exponential=no");
        below.current.broken = true;
        below.refuseOpens = 100;
        long start = System.nanoTime();
        assertThrows(NbdException.class, () -> h.flush(0));
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(millis >= 90 && millis < 140 * 3, "three waits of 30 ms: " + millis);
    }

    @Test
    void requestsFailingTogetherReopenOnceAndAllSucceed() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retry-delay=50ms");
        below.current.broken = true;
        List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
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
        assertEquals(List.of(), failures);
        assertEquals(2, below.opens.get(), "32 requests failed on the same handle: one reopen");
    }

    @Test
    void retryReadonlyReopensReadOnlyAndThenRefusesWrites() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retry-delay=1ms", "retry-readonly=true");
        below.current.broken = true;
        h.read(ByteBuffer.allocateDirect(512), 0, 0);
        assertEquals(List.of(false, true), below.readOnlyOpens);
        NbdException e = assertThrows(NbdException.class, () -> h.write(ByteBuffer.allocateDirect(512), 0, 0));
        assertEquals(NbdError.EPERM, e.error());
        assertTrue(h.canWrite(), "the capabilities stay what the client was promised");
    }

    @Test
    void aReopenedLayerOfAnotherSizeIsNotUsed() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retries=2", "retry-delay=1ms");
        below.current.broken = true;
        below.size = 4096;
        assertThrows(NbdException.class, () -> h.read(ByteBuffer.allocateDirect(512), 0, 0));
        below.size = below.disk.length;
        h.read(ByteBuffer.allocateDirect(512), 0, 0);
    }

    @Test
    void enotsupIsAnAnswerNotAFailure() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retry-delay=1s");
        long start = System.nanoTime();
        NbdException e = assertThrows(NbdException.class, () -> h.zero(0, 4096, Flags.FAST_ZERO));
        assertEquals(NbdError.ENOTSUP, e.error());
        assertTrue(System.nanoTime() - start < 500_000_000L, "no retry delay");
        assertEquals(1, below.opens.get());
    }

    @Test
    void extentsOfAFailedAttemptAreNotKept() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retry-delay=1ms");
        below.current.broken = true;
        Extents e = new Extents(0, 65536);
        h.extents(0, 65536, 0, e);
        assertEquals("Extents[0+4096:0, 4096+61440:1]", e.toString());
    }

    @Test
    void retriesZeroFailsAtOnce() throws Exception {
        Flaky below = new Flaky();
        Handle h = open(below, "retries=0");
        below.current.broken = true;
        assertThrows(NbdException.class, () -> h.read(ByteBuffer.allocateDirect(512), 0, 0));
        assertEquals(1, below.opens.get());
    }

    @Test
    void badParametersAreOneLine() {
        assertEquals("retries: must not be negative: -1",
                assertThrows(ConfigException.class, () -> open(new Flaky(), "retries=-1")).getMessage());
        assertEquals("retry-delay: must be more than 0",
                assertThrows(ConfigException.class, () -> open(new Flaky(), "retry-delay=0")).getMessage());
        assertEquals("retry-exponential: cannot parse boolean 'maybe' (use true or false)",
                assertThrows(ConfigException.class, () -> open(new Flaky(), "retry-exponential=maybe")).getMessage());
    }
}
