package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.Test;

/**
 * The cow filter through the assembled runtime over the http plugin and nginx: a read-only remote
 * disk made writable for the session. Real clients write and read back; the source file never
 * changes, and nginx is only ever asked to read.
 */
public class CowInteropIT {
    private static final Duration T = Duration.ofSeconds(180);
    private static final int MIB = 1 << 20;

    private static Path dir(String test) throws Exception {
        Path d = Distribution.workDir("cow/" + test);
        Files.createDirectories(d.resolve("www"));
        Files.createDirectories(d.resolve("tmp"));
        return d;
    }

    private static Path image(Path dir, long seed) throws Exception {
        byte[] b = new byte[16 * MIB];
        new Random(seed).nextBytes(b);
        return Files.write(dir.resolve("www/disk.img"), b);
    }

    private static ServerProcess serve(Path dir, String... args) throws Exception {
        return ServerProcess.unix(dir, Map.of("TMPDIR", dir.resolve("tmp").toString()), args);
    }

    @Test
    public void writesOverHttpReadBackAndTheSourceStaysUnchanged() throws Exception {
        Path dir = dir("write");
        Path src = image(dir, 1);
        byte[] original = Files.readAllBytes(src);
        byte[] model = original.clone();
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=cow", "http", web.url("disk.img"))) {
            // qemu-io: patterns at aligned and unaligned places, across block boundaries
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x5a 100000 200000", "-c", "write -P 0xa5 65536 65536",
                    "-c", "write -z 3000000 70000", "-c", "write -P 0x11 16773000 4216", s.uri()).ok();
            Arrays.fill(model, 100000, 300000, (byte) 0x5a);
            Arrays.fill(model, 65536, 131072, (byte) 0xa5);
            Arrays.fill(model, 3000000, 3070000, (byte) 0);
            Arrays.fill(model, 16773000, 16 * MIB, (byte) 0x11);
            Tools.run(T, "qemu-io", "-f", "raw", "-r", "-c", "read -P 0x5a 131072 168928", "-c", "read -P 0xa5 65536 34464",
                    "-c", "read -P 0 3000000 70000", s.uri()).ok();
            Path copy = dir.resolve("copy.img");
            Tools.run(T, "nbdcopy", s.uri(), copy.toString()).ok();
            assertArrayEquals("the export is the source with the writes", model, Files.readAllBytes(copy));
            assertArrayEquals("the source file is unchanged", original, Files.readAllBytes(src));
            List<String> log = web.requests();
            assertTrue("nginx was only asked to read: " + log, log.stream().allMatch(l -> l.startsWith("GET ") || l.startsWith("HEAD ")));
        }
    }

    @Test
    public void everyConnectionSeesTheSameOverlayAndBlockStatusShowsIt() throws Exception {
        Path dir = dir("shared");
        Path src = image(dir, 2);
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=cow", "http", web.url("disk.img"));
             NbdClient a = NbdClient.unix(s.socket()); NbdClient b = NbdClient.unix(s.socket())) {
            a.go("");
            b.go("");
            byte[] d = new byte[5000];
            new Random(3).nextBytes(d);
            a.write(1234567, d, 0);
            assertArrayEquals("another connection reads the first one's write", d, b.read(1234567, d.length));
            b.zero(8 * MIB, 2 * MIB, 0);
            assertArrayEquals(new byte[2 * MIB], a.read(8 * MIB, 2 * MIB));
            a.disconnect();
            b.disconnect();
            String map = Tools.run(T, "nbdinfo", "--map", s.uri()).ok().out();
            assertTrue("zeroed blocks are holes reading as zeros: " + map, map.lines().anyMatch(l -> l.trim().matches("8388608\\s+2097152\\s+3\\s+hole,zero")));
        }
    }

    @Test
    public void fioWritesAndVerifiesThroughTheOverlayInParallel() throws Exception {
        Path dir = dir("fio");
        Path src = image(dir, 4);
        byte[] original = Files.readAllBytes(src);
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=cow", "http", web.url("disk.img"), "cow-block-size=16K")) {
            // writes of 4K..48K at random places in 16K blocks, 32 at once, then every one read back and checked
            Tools.run(T, "fio", "--name=rw", "--ioengine=nbd", "--uri=" + s.uri(), "--rw=randwrite", "--bsrange=4k-48k",
                    "--iodepth=32", "--size=16M", "--io_size=24M", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                    "--randrepeat=0").ok();
        }
        assertArrayEquals("the source file is unchanged", original, Files.readAllBytes(src));
    }

    @Test
    public void cowOnReadServesTheSecondReadWithoutTheWebServer() throws Exception {
        Path dir = dir("on-read");
        Path src = image(dir, 5);
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=cow", "http", web.url("disk.img"), "cow-on-read=true");
             NbdClient c = NbdClient.unix(s.socket())) {
            c.go("");
            byte[] first = c.read(3 * MIB + 7, 3 * MIB);
            int requests = web.requests().size();
            byte[] second = c.read(3 * MIB + 7, 3 * MIB);
            assertEquals("no request reached nginx for the second read", requests, web.requests().size());
            assertArrayEquals(first, second);
            assertArrayEquals(Arrays.copyOfRange(Files.readAllBytes(src), 3 * MIB + 7, 6 * MIB + 7), second);
            c.disconnect();
        }
    }

    @Test
    public void theOverlayIsAnUnlinkedFileInTmpdir() throws Exception {
        Path dir = dir("tmpdir");
        image(dir, 6);
        try (Nginx web = Nginx.serving(dir.resolve("nginx"), dir.resolve("www")).start();
             ServerProcess s = serve(dir, "--filter=cow", "http", web.url("disk.img"));
             NbdClient c = NbdClient.unix(s.socket())) {
            c.go("");
            c.write(0, new byte[4 * MIB], 0);
            boolean found = false;
            try (var fds = Files.list(Path.of("/proc/" + s.pid() + "/fd"))) {
                for (Path fd : fds.toList()) {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(dir.resolve("tmp") + "/nbd-osgi-cow-")) {
                        assertTrue(target, target.endsWith(" (deleted)"));
                        found = true;
                    }
                }
            } catch (java.nio.file.NoSuchFileException gone) {
                // a descriptor closed while listing
            }
            assertTrue("the overlay file is in $TMPDIR", found);
            c.disconnect();
        }
    }

    @Test
    public void badParametersAreOneLineAndExitStatusOne() throws Exception {
        assertEquals("nbd-osgi: cow: cow-block-size: 1000 must be a power of 2 from 4K to 32M",
                StatsInteropIT.failure("--filter=cow", "memory", "1M", "cow-block-size=1000"));
        assertEquals("nbd-osgi: cow: cow-on-read: 'often' is not true, false or an absolute path",
                StatsInteropIT.failure("--filter=cow", "memory", "1M", "cow-on-read=often"));
    }
}
