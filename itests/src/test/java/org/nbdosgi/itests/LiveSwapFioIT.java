package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * back the same after them, and no request waits 250 ms or more.
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

            CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
                try {
                    return Tools.run(Duration.ofSeconds(120), Map.of(), List.of("fio", "--name=swap", "--ioengine=nbd",
                            "--uri=" + uri, "--rw=randwrite", "--bs=4k", "--iodepth=32", "--offset=64M", "--size=256M",
                            "--time_based", "--runtime=20", "--verify=crc32c", "--verify_backlog=4096",
                            "--do_verify=1", "--output-format=json"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(3000);
            for (int i = 1; i <= 3; i++) {
                nbd.client("update", memoryId).ok();
                // each update takes the old bundle's plugin away and brings the new one: the export parks and resumes
                nbd.awaitLog(Duration.ofSeconds(10), "export '' resumed", i);
                Thread.sleep(2000);
            }
            nbd.client("nbd:filter-insert", "\"\"", "stats").ok();
            String chain = nbd.client("nbd:chain", "\"\"").ok().out();
            assertTrue(chain, chain.matches("(?s).*\n0\\s+filter\\s+stats.*\n1\\s+plugin\\s+memory.*"));
            Thread.sleep(2000);
            String stats = nbd.client("nbd:stats", "\"\"").ok().out();
            Matcher ops = Pattern.compile("total: (\\d+) ops").matcher(stats);
            assertTrue(stats, ops.find() && Long.parseLong(ops.group(1)) > 0);     // fio's requests went through it
            nbd.client("nbd:filter-remove", "\"\"", "stats").ok();
            assertFalse(nbd.client("nbd:chain", "\"\"").ok().out().contains("stats"));

            Tools.Result r = fio.get(150, TimeUnit.SECONDS);
            assertEquals(r.err(), 0, r.exit());
            String json = r.out();
            assertEquals("fio errors:\n" + json, "0", field(json, "error"));
            long maxLatencyNs = Math.max(maxLatency(json, "write"), maxLatency(json, "read"));   // reads: verification
            System.out.println("LiveSwapFioIT: longest request latency " + maxLatencyNs / 1_000_000.0 + " ms");
            assertTrue("longest request latency " + maxLatencyNs / 1_000_000 + " ms", maxLatencyNs < 250_000_000L);

            String expected = Tools.run(Duration.ofSeconds(60), "sha256sum", before.toString()).ok().out().split(" ")[0];
            String after = Tools.nbdsh(uri, "import hashlib; print(hashlib.sha256(h.pread(16 << 20, 0)).hexdigest())").ok().out().trim();
            assertEquals("the 16 MiB written before the swaps read back the same", expected, after);
            assertTrue(nbd.client("nbd:exports").out().contains("running"));
            String log = nbd.log();
            assertEquals(log, 3, Instance.count(log, "export '' parked: waiting for plugin 'memory'"));
            assertEquals(log, 3, Instance.count(log, "export '' resumed"));
        }
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
