package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Test;

/**
 * The hot swap promise, measured with fio: while fio writes and verifies (crc32c, iodepth 32,
 * 20 s) a memory export, the memory plugin bundle is updated three times and a stats filter is
 * inserted and removed. No I/O error, verification passes, data written before the swaps reads
 * back the same after them, and no request completing during a swap or rewire waited 250 ms longer
 * than the longest wait of the same run outside them (fio's per-10-ms maximum latency log): the
 * machine's own stalls, which on a loaded machine reach hundreds of ms, do not count against a swap.
 */
public class LiveSwapFioIT {
    private static final Pattern BUNDLE = Pattern.compile("(?m)^(\\d+)\\s+active\\s+\\d+\\s+org\\.nbdosgi\\.plugin\\.memory\\s");

    @Test
    public void fioSeesNoErrorAndNoLongPauseWhileBundlesAreSwappedAndFiltersRewired() throws Exception {
        try (Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"))) {
            nbd.start();
            String uri = nbd.uri("");
            Path dir = Distribution.workDir("LiveSwapFioIT");
            Path before = dir.resolve("before.img");
            Files.deleteIfExists(before);
            Tools.run(Duration.ofSeconds(60), "dd", "if=/dev/urandom", "of=" + before, "bs=1M", "count=16").ok();
            Tools.run(Duration.ofSeconds(60), "nbdcopy", before.toString(), uri).ok();

            String lb = nbd.client("lb", "-s", "memory").ok().out();
            Matcher m = BUNDLE.matcher(lb);
            assertTrue(lb, m.find());
            String memoryId = m.group(1);
            Path latencies = dir.resolve("lat");
            List<long[]> windows = new ArrayList<>();             // epoch ms: each swap and rewire

            CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
                try {
                    return Tools.run(Duration.ofSeconds(120), Map.of(), List.of("fio", "--name=swap", "--ioengine=nbd",
                            "--uri=" + uri, "--rw=randwrite", "--bs=4k", "--iodepth=32", "--offset=64M", "--size=256M",
                            "--time_based", "--runtime=20", "--verify=crc32c", "--verify_backlog=4096",
                            "--do_verify=1", "--output-format=json", "--write_lat_log=" + latencies, "--log_avg_msec=10",
                            "--log_max_value=1", "--log_unix_epoch=1"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(3000);
            for (int i = 1; i <= 3; i++) {
                long t0 = System.currentTimeMillis();
                nbd.client("update", memoryId).ok();
                // each update takes the old bundle's plugin away and brings the new one: the export parks and resumes
                nbd.awaitLog(Duration.ofSeconds(10), "export '' resumed", i);
                windows.add(new long[] {t0, System.currentTimeMillis()});
                Thread.sleep(2000);
            }
            long t0 = System.currentTimeMillis();
            nbd.client("nbd:filter-insert", "\"\"", "stats").ok();
            windows.add(new long[] {t0, System.currentTimeMillis()});
            String chain = nbd.client("nbd:chain", "\"\"").ok().out();
            assertTrue(chain, chain.matches("(?s).*\n0\\s+filter\\s+stats.*\n1\\s+plugin\\s+memory.*"));
            Thread.sleep(2000);
            String stats = nbd.client("nbd:stats", "\"\"").ok().out();
            Matcher ops = Pattern.compile("total: (\\d+) ops").matcher(stats);
            assertTrue(stats, ops.find() && Long.parseLong(ops.group(1)) > 0);     // fio's requests went through it
            t0 = System.currentTimeMillis();
            nbd.client("nbd:filter-remove", "\"\"", "stats").ok();
            windows.add(new long[] {t0, System.currentTimeMillis()});
            assertFalse(nbd.client("nbd:chain", "\"\"").ok().out().contains("stats"));

            Tools.Result r = fio.get(150, TimeUnit.SECONDS);
            assertEquals(r.err(), 0, r.exit());
            String json = r.out();
            assertEquals("fio errors:\n" + json, "0", field(json, "error"));
            long[] inOut = longestInAndOut(dir.resolve("lat_clat.1.log"), windows);     // reads too: verification
            System.out.println("LiveSwapFioIT: longest latency during swaps and rewires " + inOut[0] / 1_000_000.0
                    + " ms, outside them " + inOut[1] / 1_000_000.0 + " ms");
            assertTrue("longest latency during a swap or rewire " + inOut[0] / 1_000_000 + " ms, outside them "
                    + inOut[1] / 1_000_000 + " ms", inOut[0] < 250_000_000L + inOut[1]);

            String expected = Tools.run(Duration.ofSeconds(60), "sha256sum", before.toString()).ok().out().split(" ")[0];
            String after = Tools.nbdsh(uri, "import hashlib; print(hashlib.sha256(h.pread(16 << 20, 0)).hexdigest())").ok().out().trim();
            assertEquals("the 16 MiB written before the swaps read back the same", expected, after);
            assertTrue(nbd.client("nbd:exports").out().contains("running"));
            String log = nbd.log();
            assertEquals(log, 3, Instance.count(log, "export '' parked: waiting for plugin 'memory'"));
            assertEquals(log, 3, Instance.count(log, "export '' resumed"));
        }
    }

    /**
     * From fio's latency log ("epoch ms, longest ns in those 10 ms, direction, ..."): the longest
     * latency of the requests completing in a window (up to 100 ms after it ends), and outside.
     */
    private static long[] longestInAndOut(Path log, List<long[]> windows) throws Exception {
        long in = 0;
        long out = 0;
        for (String line : Files.readAllLines(log)) {
            String[] f = line.split(",\\s*");
            long t = Long.parseLong(f[0]);
            long ns = Long.parseLong(f[1]);
            if (windows.stream().anyMatch(w -> t >= w[0] && t <= w[1] + 100)) {
                in = Math.max(in, ns);
            } else {
                out = Math.max(out, ns);
            }
        }
        return new long[] {in, out};
    }

    /** jobs[0].DIRECTION.lat_ns.max of fio's JSON. */
    static long maxLatency(String json, String direction) {
        String d = json.substring(json.indexOf("\"" + direction + "\""));
        return Long.parseLong(field(d.substring(d.indexOf("\"lat_ns\"")), "max"));
    }

    /** The first numeric value of {@code "key" :} in fio's JSON. */
    static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\"\\s*:\\s*(-?\\d+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + key + " in " + json);
        }
        return m.group(1);
    }
}
