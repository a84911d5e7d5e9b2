package org.nbdosgi.itests;

import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

/** The nbd: commands in a real Gogo shell. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConsoleIT {
    @Inject
    private CommandProcessor processor;

    @Inject
    private ServerAdmin admin;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("ConsoleIT").resolve("felix.log")).toArray(new Option[0]);
    }

    /** Runs a command line; our own streams, never System.out (Gogo replaces it). */
    private String run(String line) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession s = processor.createSession(new ByteArrayInputStream(new byte[0]), ps, ps)) {
            Object result = s.execute(line);
            if (result != null) {
                ps.println(s.format(result, org.apache.felix.service.command.Converter.INSPECT));
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    public void commandsShowPluginsExportsAndConnections() throws Exception {
        Path sock = Distribution.workDir("ConsoleIT").resolve("console.sock");
        java.nio.file.Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        admin.addExport(ExportSpec.parse("disk", true, List.of("memory", "64M")));
        Path dir = Distribution.workDir("ConsoleIT/files");
        java.nio.file.Files.write(dir.resolve("a.img"), new byte[4096]);
        admin.addExport(ExportSpec.parse("files", false, List.of("file", "dir=" + dir)));
        String plugins = run("nbd:plugins");
        assertTrue(plugins, plugins.matches("(?s)NAME\\s+DESCRIPTION\n.*memory\\s+a sparse RAM disk.*"));
        String before = run("nbd:exports");
        assertTrue("the size is known before any client connects:\n" + before,
                before.matches("(?s).*disk\\s+running\\s+64M\\s+0\\s+parallel\\s+memory 64M \\(read-only\\).*"));
        assertTrue("a directory has no default export, so no one size:\n" + before,
                before.matches("(?s).*files\\s+running\\s+-\\s+0\\s+.*"));
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("disk");
            String exports = run("nbd:exports");
            assertTrue(exports, exports.matches("(?s).*disk\\s+running\\s+64M\\s+1\\s+parallel\\s+memory 64M \\(read-only\\).*"));
            String conns = run("nbd:connections");
            assertTrue(conns, conns.matches("(?s).*ID\\s+CLIENT\\s+EXPORT.*\n1\\s+unix:1\\s+disk\\s+disk.*"));
        }
        assertTrue(run("nbd:exports --help").contains("usage: nbd:exports"));
        assertTrue(run("nbd:filters").startsWith("NAME"));
    }
}
