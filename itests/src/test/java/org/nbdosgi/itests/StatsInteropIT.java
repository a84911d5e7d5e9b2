package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Test;

/** The stats filter through the assembled runtime, driven by libnbd's nbdsh, side by side with nbdkit's stats filter. */
public class StatsInteropIT {
    private static final Duration T = Duration.ofSeconds(120);

    /** One request of each kind with known sizes and offsets, block status included. */
    private static final String WORKLOAD = String.join("\n",
            "h.add_meta_context('base:allocation')",
            "h.connect_uri(uri)",
            "h.pwrite(b'x' * 4096, 0)",
            "h.pwrite(b'x' * 4096, 8192)",
            "h.pwrite(b'y' * 65536, 1 << 20)",
            "h.pread(4096, 0)",
            "h.pread(512, 512)",
            "h.pread(3000, 12345)",
            "h.flush()",
            "h.trim(1 << 20, 1 << 20)",
            "h.zero(4096, 1 << 16)",
            "h.cache(4096, 0)",
            "h.block_status(1 << 20, 0, lambda *a: 0)",
            "h.shutdown()");

    /** A short directory per test: Unix socket paths must stay under 108 bytes wherever the build runs. */
    private static Path dir(String test) throws Exception {
        return Distribution.workDir("stats/" + test);
    }

    private static void workload(String uri) throws Exception {
        Tools.run(T, Map.of(), List.of("nbdsh", "-c", "uri = '" + uri + "'\n" + WORKLOAD)).ok();
    }

    /** "read: 3 ops, 7.43 KiB" for each operation line, without the times and rates. */
    private static List<String> countsAndBytes(String report) {
        Matcher m = Pattern.compile("(?m)^(\\w+): (\\d+) ops, [0-9.]+ s, ([^,]+),").matcher(report);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            out.add(m.group(1) + ": " + m.group(2) + " ops, " + m.group(3));
        }
        return out;
    }

    @Test
    public void knownWorkloadCountsWhatNbdkitCounts() throws Exception {
        Path dir = dir("known");
        Path ours = dir.resolve("ours.txt");
        try (ServerProcess s = ServerProcess.unix(dir, "--filter=stats", "memory", "64M", "statsfile=" + ours, "statsthreshold=100")) {
            workload(s.uri());
            s.stop();
        }
        String report = Files.readString(ours);
        assertEquals(report, List.of("total: 10 ops, 1.08 MiB", "read: 3 ops, 7.43 KiB", "write: 3 ops, 72.00 KiB",
                "trim: 1 ops, 1.00 MiB", "zero: 1 ops, 4.00 KiB", "extents: 1 ops, 1.00 MiB", "cache: 1 ops, 4.00 KiB",
                "flush: 1 ops, 0 bytes"), countsAndBytes(report.replaceFirst("total: (\\d+) ops, [0-9.]+ s, ([^,]+),", "total: $1 ops, 0 s, $2,")));
        assertTrue(report, report.contains("""
                write: 3 ops, """));
        assertTrue(report, report.contains("""
                  Request size and alignment breakdown:
                    12 bits: 66.7% (2 reqs, 8.00 KiB total)
                         13 bit aligned: 100.0% (2)
                    16 bits: 33.3% (1 reqs, 64.00 KiB total)
                         20 bit aligned: 100.0% (1)

                trim: 1 ops, """));

        // the same workload through nbdkit's stats filter: the same operations, counts and bytes, the total line included
        Tools.require("nbdkit");
        Path theirs = dir.resolve("nbdkit.txt");
        Path sock = dir.resolve("nbdkit.sock");
        Files.deleteIfExists(sock);
        Tools.run(T, Map.of("WORKLOAD", WORKLOAD), List.of("nbdkit", "-U", sock.toString(), "--filter=stats", "memory", "64M",
                "statsfile=" + theirs, "statsthreshold=100", "--run", "nbdsh -c \"uri = '$uri'\" -c \"$WORKLOAD\"")).ok();
        String nbdkit = Files.readString(theirs);
        List<String> expected = countsAndBytes(nbdkit);
        List<String> got = countsAndBytes(report);
        assertEquals("nbdkit:\n" + nbdkit + "\nours:\n" + report, expected, got);
        assertTrue("nbdkit's histogram line is ours too:\n" + nbdkit, nbdkit.contains("    12 bits: 66.7% (2 reqs, 8.00 KiB total)\n         13 bit aligned: 100.0% (2)\n"));
    }

    @Test
    public void statsappendAddsOneReportPerRun() throws Exception {
        Path dir = dir("append");
        Path file = dir.resolve("stats.txt");
        Files.writeString(file, "kept from before\n");
        for (int run = 0; run < 2; run++) {
            try (ServerProcess s = ServerProcess.unix(dir, "--filter=stats", "memory", "1M", "statsfile=" + file, "statsappend=true")) {
                Tools.nbdsh(s.uri(), "h.pread(512, 0)").ok();
                s.stop();
            }
        }
        String text = Files.readString(file);
        assertTrue(text, text.startsWith("kept from before\ntotal: 1 ops, "));
        assertEquals(text, 2, text.lines().filter(l -> l.startsWith("read: 1 ops, ") && l.contains(", 512 bytes, ")).count());
    }

    /** /dev/stderr is often the log file: the report goes at its end, nothing logged before it is lost. */
    @Test
    public void statsfileOnStderrKeepsTheLog() throws Exception {
        ServerProcess s = ServerProcess.unix(dir("stderr"), "-v", "--filter=stats", "memory", "1M", "statsfile=/dev/stderr");
        Tools.nbdsh(s.uri(), "h.pwrite(b'z' * 1024, 0)").ok();
        String before = s.log();
        assertTrue(before, before.contains("export '' started"));
        s.stop();
        String log = s.log();
        assertTrue(log, log.startsWith(before.substring(0, before.indexOf("export '' started"))));
        assertTrue(log, log.indexOf("export '' started") < log.indexOf("write: 1 ops, "));
        assertTrue(log, log.contains("\nwrite: 1 ops, ") && log.contains(", 1.00 KiB, "));
    }

    @Test
    public void withoutStatsfileTheReportGoesToTheLogAtExit() throws Exception {
        ServerProcess s = ServerProcess.unix(dir("log"), "--filter=stats", "memory", "1M");
        Tools.nbdsh(s.uri(), "h.pread(4096, 0)\nh.pread(4096, 4096)").ok();
        s.stop();
        String log = s.log();
        assertTrue(log, log.contains("export '' statistics:\ntotal: 2 ops, "));
        assertTrue(log, log.contains("\nread: 2 ops, ") && log.contains(", 8.00 KiB, "));
    }

    @Test
    public void badParametersAreOneLineAndExitStatusOne() throws Exception {
        assertEquals("nbd-osgi: stats: statsthreshold: must be a percentage from 0 to 100, not 150",
                failure("--filter=stats", "memory", "1M", "statsthreshold=150"));
        assertEquals("nbd-osgi: stats: statsfile: cannot open /nonexistent/dir/s.txt: no such directory",
                failure("--filter=stats", "memory", "1M", "statsfile=/nonexistent/dir/s.txt"));
        assertEquals("nbd-osgi: stats: statsappend: cannot parse boolean 'sometimes' (use true or false)",
                failure("--filter=stats", "memory", "1M", "statsfile=/tmp/x", "statsappend=sometimes"));
        // a filter above stats failing to start: stats was created and closed again, and stays quiet
        assertEquals("nbd-osgi: delay: rdelay: cannot parse duration 'bogus'",
                failure("--filter=delay", "--filter=stats", "memory", "1M", "rdelay=bogus"));
    }

    /** Runs the launcher with a bad command line; returns its whole output, which must be one line, with status 1. */
    static String failure(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ServerProcess.launcher().toString(), "-U", "-"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertEquals(out, 1, p.waitFor());
        assertEquals(out, 1, out.lines().count());
        return out;
    }
}
