package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.inject.Inject;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The stats filter in the real Felix: {@code nbd:stats} in a Gogo session, and the statsfile at export removal. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class StatsConsoleIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private CommandProcessor processor;

    private static Path sock;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("StatsConsoleIT").resolve("felix.log")).toArray(new Option[0]);
    }

    /** Runs a console command; returns what it printed on stdout and stderr. */
    private String[] console(String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), o, e);
            try {
                session.execute(command);
            } catch (IllegalArgumentException failed) {
                e.println(failed.getMessage());             // a failed command: what the console shows
            }
            session.close();
        }
        return new String[] {out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    /** The one listening socket of this framework, opened by the first test. */
    private Path listen() throws Exception {
        if (sock == null) {
            sock = Distribution.workDir("StatsConsoleIT").resolve("stats.sock");
            Files.deleteIfExists(sock);
            admin.listenUnix(sock);
        }
        return sock;
    }

    @Test
    public void liveCountsResetAndTheStatsfileAtRemoval() throws Exception {
        Path dir = Distribution.workDir("StatsConsoleIT");
        Path statsfile = dir.resolve("disk-stats.txt");
        admin.addExport(ExportSpec.parse("disk", false,
                List.of("--filter=stats", "memory", "64M", "statsfile=" + statsfile, "statsthreshold=100")));
        try (NbdClient c = NbdClient.unix(listen())) {
            c.structuredReplies();
            c.go("disk");
            c.write(0, new byte[8192], 0);
            c.read(0, 4096);
            c.read(4096, 4096);
            c.read(1 << 20, 512);

            String[] live = console("nbd:stats disk");
            assertEquals("", live[1]);
            List<String> lines = live[0].lines().toList();
            assertTrue(live[0], lines.get(0).startsWith("total: 4 ops, ") && lines.get(0).contains(", 16.50 KiB, "));
            assertTrue(live[0], lines.stream().anyMatch(l -> l.startsWith("read: 3 ops, ") && l.contains(", 8.50 KiB, ")));
            assertTrue(live[0], lines.stream().anyMatch(l -> l.startsWith("write: 1 ops, ") && l.contains(", 8.00 KiB, ")));
            assertTrue(live[0], lines.contains("    12 bits: 66.7% (2 reqs, 8.00 KiB total)"));
            assertTrue(live[0], lines.contains("     9 bits: 33.3% (1 reqs, 512 bytes total)"));
            assertTrue(live[0], lines.contains("         20 bit aligned: 100.0% (1)"));

            String[] reset = console("nbd:stats --reset disk");
            assertTrue(reset[0], reset[0].contains("read: 3 ops, "));
            assertTrue(console("nbd:stats disk")[0].startsWith("total: 0 ops, "));

            c.flush();
            c.read(0, 1024);
            String[] all = console("nbd:stats");
            assertTrue(all[0], all[0].startsWith("export 'disk':\ntotal: 2 ops, "));
            assertEquals("nbd:stats: export 'nope' has no stats filter (exports with one: 'disk')\n", console("nbd:stats nope")[1]);
            c.disconnect();
        }
        String filters = console("nbd:filters")[0];
        assertTrue(filters, filters.contains("stats") && filters.contains("delay"));

        assertEquals("the statsfile is written when the export stops", "", Files.readString(statsfile));
        admin.removeExport("disk");
        String report = Files.readString(statsfile);
        assertTrue(report, report.startsWith("total: 2 ops, "));
        assertTrue(report, report.contains("\nread: 1 ops, ") && report.contains(", 1.00 KiB, "));
        assertTrue(report, report.contains("\nflush: 1 ops, "));
        assertTrue(report, !report.contains("write:"));
        assertEquals("nbd:stats: no export uses the stats filter\n", console("nbd:stats")[1]);
    }

    /**
     * A rewire that keeps the stats filter carries its counts over; one that removes it (the client
     * stays connected) writes its report then, as if the export stopped.
     */
    @Test
    public void removingTheFilterFromALiveExportWritesTheReport() throws Exception {
        Path statsfile = Distribution.workDir("StatsConsoleIT").resolve("live-stats.txt");
        admin.addExport(ExportSpec.parse("live", false, List.of("--filter=stats", "memory", "64M", "statsfile=" + statsfile)));
        String report;
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("live");
            c.write(0, new byte[4096], 0);
            c.read(0, 4096);
            String[] inserted = console("nbd:filter-insert --position 1 live delay rdelay=1ms");
            assertEquals(inserted[1], "", inserted[1]);
            c.read(8192, 2048);
            c.flush();
            assertEquals("a rewire that keeps stats writes nothing yet", "", Files.readString(statsfile));

            String[] removed = console("nbd:filter-remove live stats");
            assertEquals(removed[1], "", removed[1]);
            report = Files.readString(statsfile);
            assertTrue(report, report.startsWith("total: 4 ops, ") && report.contains(", 10.00 KiB, "));
            assertTrue(report, report.contains("\nread: 2 ops, ") && report.contains(", 6.00 KiB, "));
            assertTrue(report, report.contains("\nwrite: 1 ops, ") && report.contains(", 4.00 KiB, "));
            assertTrue(report, report.contains("\nflush: 1 ops, "));

            c.read(0, 512);                                  // the client goes on, over delay and memory alone
            assertEquals("nbd:stats: export 'live' has no stats filter (no export has one)\n", console("nbd:stats live")[1]);
            assertEquals(List.of("delay", "memory"), admin.export("live").layers().stream().map(l -> l.name()).toList());
            c.disconnect();
        }
        admin.removeExport("live");
        assertEquals("written once, when the filter was removed", report, Files.readString(statsfile));
    }
}
