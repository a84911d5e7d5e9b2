package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.Test;

/**
 * The readahead filter through the assembled runtime, over the cache filter and the http plugin
 * against nginx, each remote read delayed 5 ms (the delay filter): what reaches nginx, counted in
 * its access log. Sequential reads must turn into a few large requests; random reads into nothing
 * more than what is read.
 */
public class ReadaheadInteropIT {
    private static final int KIB = 1024;
    private static final int MIB = 1 << 20;

    private static Path dir(String test) throws Exception {
        Path d = Distribution.workDir("readahead/" + test);
        Files.createDirectories(d.resolve("www"));
        Files.createDirectories(d.resolve("tmp"));
        return d;
    }

    private static byte[] image(Path dir) throws Exception {
        byte[] b = new byte[32 * MIB];
        new Random(1).nextBytes(b);
        Files.write(dir.resolve("www/disk.img"), b);
        return b;
    }

    private static ServerProcess serve(Path dir, String... args) throws Exception {
        return ServerProcess.unix(dir, Map.of("TMPDIR", dir.resolve("tmp").toString()), args);
    }

    /**
     * The GETs in the access log: their body sizes. nginx logs a request after its response is
     * sent, so the client may have the last bytes before the line is written: read until the log
     * stops growing.
     */
    private static List<Long> gets(Nginx web) throws Exception {
        List<Long> before = List.of();
        List<Long> now = loggedGets(web);
        for (int i = 0; i < 50 && !now.equals(before); i++) {
            Thread.sleep(200);
            before = now;
            now = loggedGets(web);
        }
        return now;
    }

    private static List<Long> loggedGets(Nginx web) throws Exception {
        return web.requests().stream().filter(l -> l.startsWith("GET ")).map(l -> Long.parseLong(l.split(" ")[3])).toList();
    }

    /** Reads the whole disk front to back, 64 KiB at a time, one request after another; checks every byte. */
    private static void readSequentially(ServerProcess s, byte[] expected) throws Exception {
        try (NbdClient c = NbdClient.unix(s.socket())) {
            c.go("");
            for (int off = 0; off < expected.length; off += 64 * KIB) {
                assertArrayEquals("at " + off, Arrays.copyOfRange(expected, off, off + 64 * KIB), c.read(off, 64 * KIB));
            }
            c.disconnect();
        }
    }

    @Test
    public void sequentialReadsBecomeAFewLargeRequests() throws Exception {
        Path dir = dir("sequential");
        byte[] disk = image(dir);
        List<Long> without;
        try (Nginx web = Nginx.serving(dir.resolve("nginx1"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=cache", "--filter=delay", "http", web.url("disk.img"), "rdelay=5ms")) {
            readSequentially(s, disk);
            without = gets(web);
        }
        List<Long> with;
        try (Nginx web = Nginx.serving(dir.resolve("nginx2"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=readahead", "--filter=cache", "--filter=delay", "http", web.url("disk.img"),
                     "rdelay=5ms", "cache-on-read=true")) {
            readSequentially(s, disk);
            with = gets(web);
        }
        long largest = with.stream().mapToLong(Long::longValue).max().orElse(0);
        assertTrue("without readahead one GET per read: " + without.size(), without.size() >= 512);
        assertTrue("with readahead " + with.size() + " GETs, without " + without.size(), with.size() * 8 <= without.size());
        assertTrue("the largest GET " + largest + " bytes", largest >= 4 * MIB);
        assertTrue("nothing fetched twice: " + with.stream().mapToLong(Long::longValue).sum() + " bytes",
                with.stream().mapToLong(Long::longValue).sum() <= disk.length + 2 * MIB);
    }

    @Test
    public void randomReadsPrefetchNothing() throws Exception {
        Path dir = dir("random");
        byte[] disk = image(dir);
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=readahead", "--filter=cache", "--filter=delay", "http", web.url("disk.img"),
                     "rdelay=5ms", "cache-on-read=true");
             NbdClient c = NbdClient.unix(s.socket())) {
            c.go("");
            Random r = new Random(2);
            for (int i = 0; i < 200; i++) {
                int off = r.nextInt(disk.length / 4096) * 4096;
                assertArrayEquals(Arrays.copyOfRange(disk, off, off + 4096), c.read(off, 4096));
            }
            c.disconnect();
            List<Long> gets = gets(web);
            assertTrue("at most one GET per read: " + gets.size(), gets.size() <= 200);
            assertTrue("each of one cache block: " + gets, gets.stream().allMatch(n -> n <= 64 * KIB));
        }
    }

    @Test
    public void withoutACacheBelowItWarnsAndPassesReadsThrough() throws Exception {
        Path dir = dir("no-cache");
        byte[] disk = image(dir);
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=readahead", "http", web.url("disk.img"))) {
            try (NbdClient c = NbdClient.unix(s.socket())) {
                c.go("");
                for (int off = 0; off < 4 * MIB; off += 64 * KIB) {
                    assertArrayEquals(Arrays.copyOfRange(disk, off, off + 64 * KIB), c.read(off, 64 * KIB));
                }
                c.disconnect();
            }
            assertTrue(s.log(), s.log().contains("readahead: export '': the layer below keeps no cache (cache requests: none)"));
            assertEquals("one GET per read, nothing more", 64, gets(web).size());
        }
    }
}
