package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import org.junit.Test;

/** The delay filter through the assembled runtime: measured delays, parallel delayed requests on one connection, real clients. */
public class DelayInteropIT {
    private static final Duration T = Duration.ofSeconds(120);

    private static Path dir(String test) throws Exception {
        return Distribution.workDir("delay/" + test);
    }

    private static NbdClient connect(ServerProcess s) throws Exception {
        NbdClient c = NbdClient.unix(s.socket());
        c.go("");
        return c;
    }

    /** Sends {@code n} reads of 4 KiB at once on one connection, then takes every reply; returns the milliseconds. */
    private static long parallelReads(NbdClient c, int n) throws Exception {
        long start = System.nanoTime();
        Set<Long> cookies = new HashSet<>();
        for (int i = 0; i < n; i++) {
            cookies.add(c.send(NbdClient.CMD_READ, 0, i * 4096L, 4096, null));
        }
        for (int i = 0; i < n; i++) {
            NbdClient.Reply r = c.receive(4096, 0);
            assertEquals(0, r.error);
            assertTrue("a reply for each request, once", cookies.remove(r.cookie));
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    @Test
    public void aDelayedReadTakesTheDelayAndParallelReadsShareIt() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir("parallel"), "--filter=delay", "memory", "64M", "rdelay=10ms");
             NbdClient c = connect(s)) {
            parallelReads(c, 64);                                   // warm up the server's code paths
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                c.read(i * 4096L, 4096);
                long micros = (System.nanoTime() - start) / 1000;
                assertTrue("a read with rdelay=10ms took " + micros + " us", micros >= 10_000);
            }
            long took = parallelReads(c, 64);
            assertTrue("64 parallel reads of 10 ms on one connection took " + took + " ms (64 x 10 ms = 640 ms)", took >= 10 && took < 160);
            c.disconnect();
        }
    }

    /** 128 reads sleeping in the server at once: virtual threads, so the process's platform threads barely change. */
    @Test
    public void oneHundredTwentyEightDelayedReadsCostNoPlatformThreads() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir("threads"), "--filter=delay", "memory", "64M", "rdelay=2s");
             NbdClient c = connect(s)) {
            int before = platformThreads(s.pid());
            long start = System.nanoTime();
            for (int i = 0; i < 128; i++) {
                c.send(NbdClient.CMD_READ, 0, i * 4096L, 4096, null);
            }
            Thread.sleep(1000);                                     // all 128 are sleeping in the filter now
            int during = platformThreads(s.pid());
            for (int i = 0; i < 128; i++) {
                assertEquals(0, c.receive(4096, 0).error);
            }
            long took = (System.nanoTime() - start) / 1_000_000;
            assertTrue("platform threads: " + before + " before, " + during + " with 128 reads in flight", during < 64 && during - before < 8);
            assertTrue("128 reads of 2 s took " + took + " ms", took >= 2000 && took < 6000);
            c.disconnect();
        }
    }

    static int platformThreads(long pid) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("Threads:")) {
                return Integer.parseInt(line.substring("Threads:".length()).trim());
            }
        }
        throw new AssertionError("no Threads: line in /proc/" + pid + "/status");
    }

    @Test
    public void zeroTrimAndFastZeroThroughNbdsh() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir("zero"), "--filter=delay", "memory", "8M", "wdelay=200ms",
                "delay-trim=0", "delay-fast-zero=false")) {
            String out = Tools.nbdsh(s.uri(), String.join("\n",
                    "import errno, time",
                    "h.pwrite(b'a' * 65536, 0)",
                    "t = time.monotonic(); h.zero(4096, 0); zero = time.monotonic() - t",
                    "t = time.monotonic(); h.trim(4096, 8192); trim = time.monotonic() - t",
                    "t = time.monotonic()",
                    "try:",
                    "    h.zero(4096, 16384, nbd.CMD_FLAG_FAST_ZERO); fast = 'done'",
                    "except nbd.Error as e:",
                    "    fast = 'ENOTSUP' if e.errnum == errno.ENOTSUP else str(e)",
                    "fastTime = time.monotonic() - t",
                    "print(zero >= 0.2, trim < 0.2, fast, fastTime < 0.2, h.pread(4096, 0) == bytes(4096), h.pread(4096, 16384) == b'a' * 4096)"))
                    .ok().out();
            assertEquals("True True ENOTSUP True True True", out.trim());
        }
    }

    @Test
    public void qemuImgConvertsThroughDelayedReadsAndWrites() throws Exception {
        Path dir = dir("qemu");
        Path img = MemoryInteropIT.sparseImage(dir, 3);
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=delay", "memory", "64M", "rdelay=1ms", "wdelay=1ms",
                "delay-extents=1ms")) {
            Tools.run(T, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img.toString(), s.uri()).ok();
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), s.uri()).ok();
        }
    }

    @Test
    public void delayOpenHoldsTheConnection() throws Exception {
        try (ServerProcess s = ServerProcess.unix(dir("open"), "--filter=delay", "memory", "1M", "delay-open=300ms")) {
            long start = System.nanoTime();
            try (NbdClient c = connect(s)) {
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue("connecting took " + millis + " ms", millis >= 300);
                c.read(0, 512);
                c.disconnect();
            }
        }
    }

    @Test
    public void badDurationsAreOneLineAndExitStatusOne() throws Exception {
        assertEquals("nbd-osgi: delay: rdelay: unknown unit in duration '10 parsecs' (use ns, us, ms, s, m or h)",
                StatsInteropIT.failure("--filter=delay", "memory", "1M", "rdelay=10 parsecs"));
    }
}
