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
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.ServerAdmin;
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

    @Test
    public void liveCountsResetAndTheStatsfileAtRemoval() throws Exception {
        Path dir = Distribution.workDir("StatsConsoleIT");
        Path sock = dir.resolve("stats.sock");
        Path statsfile = dir.resolve("disk-stats.txt");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        admin.addExport(ExportSpec.parse("disk", false,
                List.of("--filter=stats", "memory", "64M", "statsfile=" + statsfile, "statsthreshold=100")));
        try (NbdClient c = NbdClient.unix(sock)) {
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
}
