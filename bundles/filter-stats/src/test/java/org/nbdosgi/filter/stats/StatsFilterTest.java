package org.nbdosgi.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Peer;
import org.nbdosgi.testkit.RamDisk;

class StatsFilterTest {
    @TempDir
    Path dir;

    private final LiveStats live = new LiveStats();
    private final StatsFilter filter = new StatsFilter(live);
    /** Reads covering it fail with EIO. */
    private static final long BAD_OFFSET = 4L << 20;
    private final RamDisk disk = new RamDisk(8 << 20).failReadsAt(BAD_OFFSET).cachedBelow(1 << 20);

    private StatsInstance create(Map<String, String> params) throws ConfigException {
        return (StatsInstance) filter.create(new Config(params), new ExportContext("disk", false), disk);
    }

    private static void read(Handle h, long offset, int length) throws Exception {
        h.read(ByteBuffer.allocateDirect(length), offset, 0);
    }

    @Test
    void statsfileGetsTheReportWhenTheExportStops() throws Exception {
        Path file = dir.resolve("stats.txt");
        Files.writeString(file, "old content that must go\n");
        StatsInstance stats = create(Map.of("statsfile", file.toString()));
        Handle h = stats.open(RamDisk.CLIENT);
        read(h, 0, 4096);
        read(h, 8192, 4096);
        h.write(ByteBuffer.allocateDirect(512), 512, Flags.FUA);
        h.zero(0, 1 << 20, 0);
        h.flush(0);
        assertEquals("", Files.readString(file), "replaced at start, written at stop");
        stats.close();
        List<String> lines = Files.readAllLines(file);
        assertTrue(lines.get(0).startsWith("total: 5 ops, "), lines.get(0));
        assertTrue(lines.get(0).contains(", 1.01 MiB, "), lines.get(0));
        assertTrue(lines.contains("    12 bits: 100.0% (2 reqs, 8.00 KiB total)"), lines.toString());
        assertLine(lines, "read: 2 ops, ", ", 8.00 KiB, ");
        assertLine(lines, "write: 1 ops, ", ", 512 bytes, ");
        assertLine(lines, "zero: 1 ops, ", ", 1.00 MiB, ");
        assertLine(lines, "flush: 1 ops, ", ", 0 bytes, ");
    }

    private static void assertLine(List<String> lines, String start, String contains) {
        assertTrue(lines.stream().anyMatch(l -> l.startsWith(start) && l.contains(contains)),
                "no line '" + start + "...'" + contains + "...' in\n" + String.join("\n", lines));
    }

    @Test
    void statsappendKeepsEarlierReports() throws Exception {
        Path file = dir.resolve("stats.txt");
        for (int run = 0; run < 2; run++) {
            StatsInstance stats = create(Map.of("statsfile", file.toString(), "statsappend", "true"));
            read(stats.open(RamDisk.CLIENT), 0, 512);
            stats.close();
        }
        assertEquals(2, Files.readAllLines(file).stream().filter(l -> l.startsWith("read: 1 ops")).count());
    }

    @Test
    void failedRequestsAreNotCounted() throws Exception {
        StatsInstance stats = create(Map.of());
        Handle h = stats.open(RamDisk.CLIENT);
        read(h, 0, 512);
        assertThrows(NbdException.class, () -> read(h, BAD_OFFSET, 512));
        assertTrue(stats.report().contains("read: 1 ops, "), stats.report());
        stats.close();
    }

    @Test
    void aReadFromTheCacheBelowCountsOnlyWhenItReads() throws Exception {
        StatsInstance stats = create(Map.of());
        Handle h = stats.open(RamDisk.CLIENT);
        assertTrue(h.readCached(ByteBuffer.allocateDirect(4096), 0, 0));
        assertFalse(h.readCached(ByteBuffer.allocateDirect(4096), 2 << 20, 0), "not cached below: read later, counted then");
        assertTrue(stats.report().contains("read: 1 ops, "), stats.report());
        stats.close();
    }

    @Test
    void badParametersAreOneLineErrors() {
        ConfigException e = assertThrows(ConfigException.class, () -> create(Map.of("statsthreshold", "101")));
        assertEquals("statsthreshold: must be a percentage from 0 to 100, not 101", e.getMessage());
        e = assertThrows(ConfigException.class, () -> create(Map.of("statsthreshold", "lots")));
        assertEquals("statsthreshold: cannot parse 'lots'", e.getMessage());
        e = assertThrows(ConfigException.class, () -> create(Map.of("statsappend", "true")));
        assertEquals("statsappend: only makes sense with statsfile=FILE", e.getMessage());
        Path missing = dir.resolve("no/such/dir/stats.txt");
        e = assertThrows(ConfigException.class, () -> create(Map.of("statsfile", missing.toString())));
        assertEquals("statsfile: cannot open " + missing + ": no such directory", e.getMessage());
        assertTrue(live.all().isEmpty(), "a refused instance is not registered");
    }

    @Test
    void liveViewAndResetWhileTheExportRuns() throws Exception {
        StatsInstance stats = create(Map.of());
        assertEquals(List.of(stats), live.of("disk"));
        Handle h = stats.open(RamDisk.CLIENT);
        read(h, 0, 4096);
        read(h, 4096, 4096);
        assertTrue(stats.report().contains("read: 2 ops, "), stats.report());
        assertTrue(stats.reportAndReset().contains("read: 2 ops, "));
        assertTrue(stats.report().startsWith("total: 0 ops, "), stats.report());
        read(h, 0, 512);
        assertTrue(stats.report().contains("read: 1 ops, "), stats.report());
        stats.close();
        assertTrue(live.of("disk").isEmpty(), "a stopped export leaves the live view");
    }

    /** "read: N ops" of a report, 0 when it has no read line. */
    private static long reads(String report) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^read: (\\d+) ops, ").matcher(report);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    @Test
    void resetsWhileRequestsRunLoseNone() throws Exception {
        StatsInstance stats = create(Map.of("statsthreshold", "0"));
        int threads = 4;
        int each = 200_000;
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger(threads);
        List<Thread> clients = new java.util.ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Handle h = stats.open(RamDisk.CLIENT);
            clients.add(Thread.ofPlatform().start(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(512);
                try {
                    for (int i = 0; i < each; i++) {
                        h.read(buf.clear(), 0, 0);
                    }
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                } finally {
                    running.decrementAndGet();
                }
            }));
        }
        long counted = 0;
        int resets = 0;
        while (running.get() > 0) {
            counted += reads(stats.reportAndReset());
            resets++;
        }
        for (Thread t : clients) {
            t.join();
        }
        counted += reads(stats.report());
        assertEquals((long) threads * each, counted, "every read is in exactly one of the " + resets + " reports");
        stats.close();
    }

    @Test
    void countsSurviveAnUpdateOfTheBundle() throws Exception {
        Path file = dir.resolve("stats.txt");
        StatsInstance old = create(Map.of("statsfile", file.toString()));
        Handle h = old.open(RamDisk.CLIENT);
        for (int i = 0; i < 3; i++) {
            read(h, i * 4096L, 4096);
        }
        Object state = old.handOver();
        old.close();
        assertEquals("", Files.readString(file), "the predecessor leaves the report to its successor");
        StatsInstance successor = (StatsInstance) new StatsFilter(live).create(new Config(Map.of("statsfile", file.toString())),
                new ExportContext("disk", false, Optional.of(state)), disk);
        read(successor.open(RamDisk.CLIENT), 0, 4096);
        successor.close();
        String text = Files.readString(file);
        assertTrue(text.contains("read: 4 ops, "), text);
        assertTrue(text.contains("    12 bits: 100.0% (4 reqs, 16.00 KiB total)"), text);
    }

    @Test
    void aSuccessorGetsTheCountsSinceTheLastReset() throws Exception {
        StatsInstance old = create(Map.of());
        Handle h = old.open(RamDisk.CLIENT);
        read(h, 0, 4096);
        read(h, 4096, 4096);
        old.reportAndReset();
        read(h, 0, 512);
        Object state = old.handOver();
        old.close();
        StatsInstance successor = (StatsInstance) filter.create(Config.empty(), new ExportContext("disk", false, Optional.of(state)), disk);
        String text = successor.report();
        assertTrue(text.startsWith("total: 1 ops, ") && text.contains("read: 1 ops, ") && text.contains(", 512 bytes, "), text);
        successor.close();
    }

    @Test
    void consoleCommandPrintsResetsAndComplains() throws Exception {
        StatsInstance a = create(Map.of());
        StatsInstance b = (StatsInstance) filter.create(Config.empty(), new ExportContext("other", false), disk);
        read(a.open(RamDisk.CLIENT), 0, 4096);
        StatsCommand command = new StatsCommand(live);

        String one = run(command, "disk");
        assertTrue(one.startsWith("total: 1 ops, ") && one.contains("read: 1 ops, "), one);
        String all = run(command);
        assertTrue(all.startsWith("export 'disk':\ntotal: 1 ops, ") && all.contains("export 'other':\ntotal: 0 ops, "), all);
        assertTrue(run(command, "--reset", "disk").contains("read: 1 ops, "));
        assertTrue(run(command, "disk").startsWith("total: 0 ops, "));
        assertEquals("nbd:stats: export 'nope' has no stats filter (exports with one: 'disk', 'other')\n", run(command, "nope"));
        assertEquals("nbd:stats: unknown option --bogus (see nbd:stats --help)\n", run(command, "--bogus"));
        assertTrue(run(command, "--help").startsWith("nbd:stats - "));
        a.close();
        b.close();
        assertEquals("nbd:stats: no export uses the stats filter\n", run(command));
    }

    private static String run(StatsCommand command, String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream both = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try {
            command.run(args, both);
        } catch (IllegalArgumentException failed) {
            both.println(failed.getMessage());              // a failed command: what the console shows
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void statsbyidentityBreaksTheCountsDownByClientIdentity() throws Exception {
        StatsInstance stats = create(Map.of("statsbyidentity", "true"));
        Peer alice = new Peer(false, null, -1, -1, -1, "TLSv1.3", "TLS_AES_128_GCM_SHA256", List.of("psk:alice"));
        Peer anonymous = new Peer(false, null, -1, -1, -1, "TLSv1.3", "TLS_AES_256_GCM_SHA384", List.of());
        Handle a = stats.open(new ClientContext("", false, "a", 1, alice));
        Handle b = stats.open(new ClientContext("", false, "b", 2, anonymous));
        Handle c = stats.open(new ClientContext("", false, "c", 3, Peer.NONE));
        read(a, 0, 4096);
        read(a, 4096, 4096);
        b.write(ByteBuffer.allocateDirect(512), 0, 0);
        c.flush(0);
        List<String> lines = stats.report().lines().toList();
        assertTrue(lines.get(0).startsWith("total: 4 ops, "), lines.toString());
        int section = lines.indexOf("by client identity:");
        List<String> tail = lines.subList(section + 1, lines.size());
        assertEquals("anonymous:", tail.get(0));
        assertTrue(tail.get(1).startsWith("  total: 1 ops, "), tail.toString());
        assertTrue(tail.get(2).startsWith("  write: 1 ops, "), tail.toString());
        assertEquals("no TLS:", tail.get(3));
        assertTrue(tail.get(5).startsWith("  flush: 1 ops, "), tail.toString());
        assertEquals("psk:alice:", tail.get(6));
        assertTrue(tail.get(7).startsWith("  total: 2 ops, ") && tail.get(7).contains("8.00 KiB"), tail.toString());

        stats.reportAndReset();
        read(a, 0, 512);
        String after = stats.report();
        assertTrue(after.contains("psk:alice:\n  total: 1 ops, "), after);
        assertTrue(after.contains("anonymous:\n  total: 0 ops, "), after);
        assertTrue(!create(Map.of()).report().contains("by client identity"), "only when asked for");
        stats.close();
    }
}
