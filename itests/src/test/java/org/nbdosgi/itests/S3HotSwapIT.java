package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
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
import org.nbdosgi.plugin.s3.S3ProxyProcess;

/**
 * The upgrade story of the s3 plugin, as LiveSwapFioIT tells it for memory: while fio writes and
 * verifies (crc32c, 4 KiB at depth 32: read-modify-writes of 64 KiB objects) an s3 export in
 * container mode, the s3 bundle is updated three times. No I/O error, verification passes, and
 * the data written before the swaps reads back the same after them: the disk lives in the store,
 * and the successor takes over its shape and secrets from the predecessor.
 */
public class S3HotSwapIT {
    private static final Pattern BUNDLE = Pattern.compile("(?m)^(\\d+)\\s+active\\s+\\d+\\s+org\\.nbdosgi\\.plugin\\.s3\\s");

    @Test
    public void fioSeesNoErrorAndNoWrongByteWhileTheS3BundleIsUpdated() throws Exception {
        Path dir = Distribution.workDir("S3HotSwapIT");
        try (S3ProxyProcess store = S3ProxyProcess.start(dir.resolve("store"));
             Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"))) {
            String bucket = store.bucket("swap");
            Path secret = dir.resolve("secret-key");
            Files.writeString(secret, S3ProxyProcess.SECRET_KEY);
            Files.writeString(nbd.etc().resolve("org.nbdosgi.export-default.cfg"), String.join("\n",
                    "name =", "plugin = s3", "endpoint = " + store.endpoint(), "bucket = " + bucket, "key = disk",
                    "size = 256M", "object-size = 64K", "access-key = " + S3ProxyProcess.ACCESS_KEY,
                    "secret-key = +" + secret, ""));
            nbd.start();
            nbd.awaitOutput(Duration.ofSeconds(60), "running", "nbd:exports");     // the first client of the SDK loads its classes
            String uri = nbd.uri("");
            Path before = dir.resolve("before.img");
            Files.deleteIfExists(before);
            Tools.run(Duration.ofSeconds(60), "dd", "if=/dev/urandom", "of=" + before, "bs=1M", "count=16").ok();
            Tools.run(Duration.ofSeconds(120), "nbdcopy", before.toString(), uri).ok();

            String lb = nbd.client("lb", "-s", "s3").ok().out();
            Matcher m = BUNDLE.matcher(lb);
            assertTrue(lb, m.find());
            String s3Id = m.group(1);

            CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
                try {
                    return Tools.run(Duration.ofSeconds(180), Map.of(), List.of("fio", "--name=swap", "--ioengine=nbd",
                            "--uri=" + uri, "--rw=randwrite", "--bs=4k", "--iodepth=32", "--offset=64M", "--size=128M",
                            "--time_based", "--runtime=25", "--verify=crc32c", "--verify_backlog=1024",
                            "--do_verify=1", "--output-format=json"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Thread.sleep(3000);
            for (int i = 1; i <= 3; i++) {
                nbd.client("update", s3Id).ok();
                nbd.awaitLog(Duration.ofSeconds(30), "export '' resumed", i);
                Thread.sleep(3000);
            }
            Tools.Result r = fio.get(200, TimeUnit.SECONDS);
            assertEquals(r.err(), 0, r.exit());
            String json = r.out();
            assertEquals("fio errors:\n" + json, "0", LiveSwapFioIT.field(json, "error"));
            long writes = Long.parseLong(LiveSwapFioIT.field(json.substring(json.indexOf("\"write\"")), "total_ios"));
            assertTrue("fio wrote during the swaps: " + writes, writes > 100);
            long maxLatencyNs = LiveSwapFioIT.maxLatency(json, "write");
            System.out.println("S3HotSwapIT: " + writes + " writes, longest write " + maxLatencyNs / 1_000_000 + " ms");

            String expected = Tools.run(Duration.ofSeconds(60), "sha256sum", before.toString()).ok().out().split(" ")[0];
            String after = Tools.nbdsh(uri, "import hashlib; print(hashlib.sha256(h.pread(16 << 20, 0)).hexdigest())").ok().out().trim();
            assertEquals("the 16 MiB written before the swaps read back the same", expected, after);
            String log = nbd.log();
            assertEquals(log, 3, Instance.count(log, "export '' parked: waiting for plugin 's3'"));
            assertEquals(log, 3, Instance.count(log, "export '' resumed"));
            assertTrue(log, !log.contains(S3ProxyProcess.SECRET_KEY));
        }
    }
}
