package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TestName;
import org.nbdosgi.plugin.s3.S3ProxyProcess;

/**
 * The s3 plugin in the assembled runtime against a real S3 API server (S3Proxy over a directory,
 * started here on a free loopback port), driven by real clients: qemu-img, nbdinfo, nbdcopy,
 * nbdsh and fio. Every test has a bucket of its own.
 */
public class S3InteropIT {
    private static Path storeDir;
    private static S3ProxyProcess store;
    private static Path secretFile;

    @Rule
    public TestName name = new TestName();
    private String bucket;
    private final List<ServerProcess> servers = new ArrayList<>();

    @BeforeClass
    public static void startStore() throws Exception {
        storeDir = Distribution.workDir("S3InteropIT-store");
        store = S3ProxyProcess.start(storeDir);
        secretFile = storeDir.resolve("secret-key");
        Files.writeString(secretFile, S3ProxyProcess.SECRET_KEY + "\n");
        Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
    }

    @AfterClass
    public static void stopStore() throws Exception {
        if (store != null) {
            store.close();
        }
    }

    @Before
    public void freshBucket() throws Exception {
        String n = name.getMethodName().toLowerCase().replaceAll("[^a-z0-9]", "");
        bucket = store.bucket(n.substring(0, Math.min(24, n.length())));
    }

    @org.junit.After
    public void stopServers() throws Exception {
        for (ServerProcess s : servers) {
            s.close();
        }
    }

    /** {@code nbd-osgi [-r] s3 endpoint=... bucket=... key=disk access-key=... secret-key=+FILE EXTRA...} on a Unix socket. */
    private ServerProcess serve(boolean readOnly, String... extra) throws Exception {
        return serve(List.of(), readOnly, extra);
    }

    /** As {@link #serve(boolean, String...)}, with {@code options} (e.g. {@code --filter=retry}) before the plugin. */
    private ServerProcess serve(List<String> options, boolean readOnly, String... extra) throws Exception {
        List<String> args = new ArrayList<>(options);
        if (readOnly) {
            args.add("-r");
        }
        args.addAll(List.of("s3", "endpoint=" + store.endpoint(), "bucket=" + bucket, "key=disk",
                "access-key=" + S3ProxyProcess.ACCESS_KEY, "secret-key=+" + secretFile, "timeout=10s"));
        args.addAll(List.of(extra));
        ServerProcess s = ServerProcess.unix(Files.createTempDirectory("s3it"), args.toArray(String[]::new));
        servers.add(s);
        return s;
    }

    private static String sha256(Path file) throws Exception {
        return Tools.run(Duration.ofSeconds(60), "sha256sum", file.toString()).ok().out().split(" ")[0];
    }

    /** A 64 MiB image: 8 MiB of random bytes at 1 MiB and 4 MiB at 40 MiB + 12345, the rest a hole. */
    private static Path image(Path dir) throws Exception {
        Path img = dir.resolve("image.raw");
        Files.deleteIfExists(img);
        Tools.run(Duration.ofSeconds(60), "truncate", "-s", "64M", img.toString()).ok();
        Tools.run(Duration.ofSeconds(60), "dd", "if=/dev/urandom", "of=" + img, "bs=1M", "seek=1", "count=8", "conv=notrunc").ok();
        Tools.run(Duration.ofSeconds(60), "dd", "if=/dev/urandom", "of=" + img, "bs=1", "seek=" + (40 * 1048576 + 12345),
                "count=4194304", "conv=notrunc", "iflag=fullblock,count_bytes").ok();
        return img;
    }

    @Test
    public void qemuImgWritesTheDiskAndAnotherProcessReadsItBack() throws Exception {
        Path dir = Distribution.workDir("S3InteropIT-qemu");
        Path img = image(dir);
        ServerProcess writer = serve(false, "size=64M", "object-size=1M");
        Tools.run(Duration.ofSeconds(180), "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", img.toString(), writer.uri()).ok();
        String info = Tools.run(Duration.ofSeconds(60), "nbdinfo", writer.uri()).ok().out();
        assertTrue(info, info.contains("export-size: 67108864") && info.contains("block_size_preferred: 1048576"));

        String map = Tools.run(Duration.ofSeconds(60), "nbdinfo", "--map", writer.uri()).ok().out();
        assertTrue(map, map.matches("(?s)\\s*0\\s+1048576\\s+3\\s+hole,zero\\s+1048576\\s+8388608\\s+0\\s+data.*"));
        writer.stop();                                                     // what was acknowledged is in the store

        ServerProcess reader = serve(true);                               // no size=: the recorded disk
        String roInfo = Tools.run(Duration.ofSeconds(60), "nbdinfo", reader.uri()).ok().out();
        assertTrue(roInfo, roInfo.contains("is_read_only: true") && roInfo.contains("export-size: 67108864"));
        Tools.run(Duration.ofSeconds(120), "qemu-img", "compare", "-f", "raw", "-F", "raw", img.toString(), reader.uri()).ok();
        Path copy = dir.resolve("copy.raw");
        Files.deleteIfExists(copy);
        Tools.run(Duration.ofSeconds(120), "nbdcopy", reader.uri(), copy.toString()).ok();
        assertEquals(sha256(img), sha256(copy));
        String refused = Tools.nbdsh(reader.uri(), "h.pwrite(b'x', 0)").err();
        assertTrue(refused, refused.contains("read-only") || refused.contains("Operation not permitted"));
        // only the objects holding data exist: 8 of the first 9 MiB, and 5 around 40 MiB + 12345
        try (var objects = Files.list(store.dataDir().resolve(bucket).resolve("disk"))) {
            assertEquals(13, objects.filter(p -> p.getFileName().toString().matches("[0-9a-f]{16}")).count());
        }
    }

    @Test
    public void fioVerifiesSmallAndLargeWritesAndTrimThenExtentsShowHoles() throws Exception {
        ServerProcess s = serve(false, "size=128M", "object-size=64K");
        for (String[] job : List.of(new String[] {"randwrite", "4k", "32"}, new String[] {"write", "1M", "8"})) {
            Tools.Result r = Tools.run(Duration.ofSeconds(240), Map.of(), List.of("fio", "--name=s3", "--ioengine=nbd",
                    "--uri=" + s.uri(), "--rw=" + job[0], "--bs=" + job[1], "--iodepth=" + job[2], "--size=32M",
                    "--verify=crc32c", "--do_verify=1", "--output-format=terse"));
            assertEquals(job[0] + ": " + r.out() + r.err(), 0, r.exit());
        }
        String py = """
                # libnbd's order: (count, offset)
                h.trim(4 << 20, 8 << 20)
                h.zero((20 << 20) | 4096, 1 << 20)
                print(h.pread(65536, 8 << 20) == bytes(65536), h.pread(4096, 21 << 20) == bytes(4096), h.pread(4096, (21 << 20) + 4096) != bytes(4096))
                h.pwrite(b'y' * 100, 100 << 20)
                h.flush()
                """;
        assertEquals("True True True", Tools.nbdsh(s.uri(), py).ok().out().trim());
        String map = Tools.run(Duration.ofSeconds(60), "nbdinfo", "--map", s.uri()).ok().out();
        // data to 1M; 1M..21M deleted (the object at 21M keeps its data after the first 4096 bytes); data to 32M; a hole; the one object at 100M
        assertTrue(map, map.matches("(?s)\\s*0\\s+1048576\\s+0\\s+data\\s+1048576\\s+20971520\\s+3\\s+hole,zero\\s+22020096\\s+11534336\\s+0\\s+data"
                + "\\s+33554432\\s+71303168\\s+3\\s+hole,zero\\s+104857600\\s+65536\\s+0\\s+data\\s+104923136\\s+29294592\\s+3\\s+hole,zero\\s*"));
    }

    @Test
    public void severalReadersAndOneWriterServeTheSameDisk() throws Exception {
        Path dir = Distribution.workDir("S3InteropIT-scale");
        Path img = image(dir);
        ServerProcess writer = serve(false, "size=64M", "object-size=256K");
        Tools.run(Duration.ofSeconds(180), "nbdcopy", img.toString(), writer.uri()).ok();
        ServerProcess readerA = serve(true);
        ServerProcess readerB = serve(true);
        // both readers at once, each with many requests in flight
        List<CompletableFuture<Tools.Result>> copies = new ArrayList<>();
        for (ServerProcess r : List.of(readerA, readerB)) {
            Path out = dir.resolve("copy-" + copies.size() + ".raw");
            Files.deleteIfExists(out);
            copies.add(CompletableFuture.supplyAsync(() -> {
                try {
                    Tools.run(Duration.ofSeconds(180), "nbdcopy", "--requests=32", r.uri(), out.toString()).ok();
                    return Tools.run(Duration.ofSeconds(60), "sha256sum", out.toString());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        for (CompletableFuture<Tools.Result> c : copies) {
            assertEquals(sha256(img), c.get(240, TimeUnit.SECONDS).ok().out().split(" ")[0]);
        }
        // a write the writer acknowledged is what the readers read next: they cache nothing
        String before = Tools.nbdsh(readerA.uri(), "print(bytes(h.pread(5, (3 << 20) + 17)))").ok().out();
        Tools.nbdsh(writer.uri(), "h.pwrite(b'fresh', (3 << 20) + 17); h.flush()").ok();
        for (ServerProcess r : List.of(readerA, readerB)) {
            assertEquals("b'fresh'", Tools.nbdsh(r.uri(), "print(bytes(h.pread(5, (3 << 20) + 17)))").ok().out().trim());
        }
        assertNotEquals("b'fresh'", before.trim());
    }

    @Test
    public void aStoreKilledUnderFioFailsRequestsClearlyAndTheExportRecoversWhenItReturns() throws Exception {
        ServerProcess s = serve(false, "size=64M", "object-size=64K");
        Tools.nbdsh(s.uri(), "h.pwrite(b'kept' * 16384, 0)").ok();
        CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
            try {
                return Tools.run(Duration.ofSeconds(180), Map.of(), List.of("fio", "--name=kill", "--ioengine=nbd",
                        "--uri=" + s.uri(), "--rw=randrw", "--bs=4k", "--iodepth=32", "--offset=1M", "--size=32M",
                        "--time_based", "--runtime=30", "--output-format=terse"));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(4000);
        store.kill();
        long killed = System.nanoTime();
        Tools.Result r = fio.get(120, TimeUnit.SECONDS);
        long failedAfter = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
        store.restart();
        assertNotEquals("fio saw the errors: " + r.out(), 0, r.exit());
        assertTrue(r.err(), r.err().contains("Input/output error"));
        assertTrue("fio stopped " + failedAfter + " s after the store went away", failedAfter < 60);
        String log = s.log();
        assertTrue(log, log.contains("s3://" + bucket + "/disk: ") && log.contains("requests fail until the store answers again"));
        assertTrue(s.isAlive());

        assertEquals("b'keptkept'", Tools.nbdsh(s.uri(), "print(bytes(h.pread(8, 0)))").ok().out().trim());
        Tools.Result again = Tools.run(Duration.ofSeconds(180), Map.of(), List.of("fio", "--name=again", "--ioengine=nbd",
                "--uri=" + s.uri(), "--rw=randwrite", "--bs=4k", "--iodepth=32", "--offset=1M", "--size=8M",
                "--verify=crc32c", "--do_verify=1", "--output-format=terse"));
        assertEquals(again.out() + again.err(), 0, again.exit());
        assertTrue(s.log(), s.log().contains("the store answers again"));
    }

    /**
     * The same outage under the retry filter: the store killed mid-fio and back 8 s later (longer
     * than the SDK's own retries, so requests do fail below the filter); fio sees no error and every
     * byte verifies.
     */
    @Test
    public void withRetryAStoreKilledAndRestartedMidFioIsInvisibleAndNoByteIsWrong() throws Exception {
        ServerProcess s = serve(List.of("--filter=retry"), false, "size=64M", "object-size=64K", "retry-delay=500ms");
        CompletableFuture<Tools.Result> fio = CompletableFuture.supplyAsync(() -> {
            try {
                return Tools.run(Duration.ofSeconds(300), Map.of(), List.of("fio", "--name=retry", "--ioengine=nbd",
                        "--uri=" + s.uri(), "--rw=randwrite", "--bs=4k", "--iodepth=32", "--size=32M",
                        "--verify=crc32c", "--do_verify=1", "--output-format=terse"));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(3000);
        store.kill();
        assertFalse("fio was still running when the store went away", fio.isDone());
        Thread.sleep(8000);
        store.restart();
        Tools.Result r = fio.get(300, TimeUnit.SECONDS);
        assertEquals(r.out() + r.err(), 0, r.exit());
        assertTrue("the outage reached the plugin: " + s.log(), s.log().contains("requests fail until the store answers again"));
    }

    @Test
    public void theSecretKeyComesFromAnInheritedDescriptorOrStandardInput() throws Exception {
        String serve = ServerProcess.launcher() + " -U - s3 endpoint=" + store.endpoint() + " bucket=" + bucket
                + " key=disk access-key=" + S3ProxyProcess.ACCESS_KEY + " size=8M";
        Tools.Result fd = Tools.run(Duration.ofSeconds(60), "bash", "-c",
                "exec 3<" + secretFile + "; " + serve + " secret-key=-3 --run 'nbdinfo --size \"$uri\"'");
        assertEquals("8388608", fd.ok().out().trim());
        Tools.Result stdin = Tools.run(Duration.ofSeconds(60), "bash", "-c",
                serve + " secret-key=- --run 'nbdinfo --size \"$uri\"' <" + secretFile);
        assertEquals("8388608", stdin.ok().out().trim());
    }

    @Test
    public void badParametersAreOneLine() throws Exception {
        Tools.Result r = Tools.run(Duration.ofSeconds(60), ServerProcess.launcher().toString(), "-U", "-", "s3",
                "endpoint=" + store.endpoint(), "bucket=" + bucket, "key=disk", "access-key=" + S3ProxyProcess.ACCESS_KEY,
                "secret-key=+" + secretFile, "size=10M", "object-size=3000", "--run", "true");
        assertEquals(1, r.exit());
        assertEquals("nbd-osgi: s3: object-size: must be a power of 2 from 4K to 32M, got 3000", r.err().trim());
        Tools.Result missing = Tools.run(Duration.ofSeconds(60), ServerProcess.launcher().toString(), "-U", "-", "s3",
                "endpoint=" + store.endpoint(), "bucket=" + bucket, "key=none", "access-key=" + S3ProxyProcess.ACCESS_KEY,
                "secret-key=+" + secretFile, "--run", "true");
        assertEquals(1, missing.exit());
        assertTrue(missing.err(), missing.err().trim().endsWith("give size= to create one") && !missing.err().contains(S3ProxyProcess.SECRET_KEY));
    }
}
