package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
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
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.admin.ConnectionInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.api.admin.ServerAdmin;
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

    /** Runs a command line that must fail; returns the reason it gives. */
    private String failure(String line) throws Exception {
        try {
            String out = run(line);
            throw new AssertionError("'" + line + "' did not fail:\n" + out);
        } catch (AssertionError e) {
            throw e;
        } catch (Exception e) {
            return e.getMessage();
        }
    }

    private static Path sock;

    /** The listener all tests of the class share (one framework for the class). */
    private Path listening() throws Exception {
        if (sock == null) {
            sock = Distribution.workDir("ConsoleIT").resolve("console.sock");
            Files.deleteIfExists(sock);
            admin.listenUnix(sock);
        }
        return sock;
    }

    @Test
    public void commandsShowPluginsExportsAndConnections() throws Exception {
        Path sock = listening();
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
            assertTrue(conns, conns.matches("(?s).*ID\\s+CLIENT\\s+EXPORT.*\n\\d+\\s+unix:\\d+\\s+disk\\s+disk.*"));
        }
        assertTrue(run("nbd:exports --help").contains("usage: nbd:exports"));
        assertTrue(run("nbd:filters").startsWith("NAME"));
    }

    @Test
    public void filterInsertPutsTheFilterAtTheGivenPosition() throws Exception {
        admin.addExport(ExportSpec.parse("layers", false, List.of("--filter=delay", "memory", "1M")));
        try {
            assertTrue(run("nbd:filter-insert --position 1 layers stats").contains("rewired: --filter=delay --filter=stats memory 1M"));
            String chain = run("nbd:chain layers");
            assertTrue(chain, chain.matches("(?s).*\n0\\s+filter\\s+delay.*\n1\\s+filter\\s+stats.*\n2\\s+plugin\\s+memory.*"));
            run("nbd:filter-insert layers stats");           // no --position: outermost
            assertEquals(List.of("stats", "delay", "stats"), admin.export("layers").spec().filters());
            assertEquals("--position must be 0..3", failure("nbd:filter-insert --position 4 layers delay"));
            assertEquals(List.of("stats", "delay", "stats"), admin.export("layers").spec().filters());
        } finally {
            admin.removeExport("layers");
        }
    }

    @Test
    public void aRefusedChangeNamesTheClientWhosePromiseItWouldBreak() throws Exception {
        admin.addExport(ExportSpec.parse("promised", false, List.of("memory", "1M")));
        try (NbdClient c = NbdClient.unix(listening())) {
            c.go("promised");
            ConnectionInfo client = admin.connections().stream().filter(i -> "promised".equals(i.export())).findFirst().orElseThrow();
            String why = failure("nbd:export-set promised size=2M");
            assertEquals("refused: client " + client.id() + " (" + client.clientAddress() + ") on export 'promised' was promised "
                    + "size 1048576 (would be 2097152) (--force disconnects that client)", why);
            assertEquals("the client goes on", 4, c.read(0, 4).length);
            assertEquals("memory 1M", admin.export("promised").spec().describe());
        } finally {
            admin.removeExport("promised");
        }
    }

    @Test
    public void aParkedExportIsRewiredOnlyIfTheNewChainRunsAndKeepsItsClientsPromises() throws Exception {
        admin.addExport(ExportSpec.parse("waits", false, List.of("--filter=delay", "memory", "1M")));
        try (NbdClient c = NbdClient.unix(listening())) {
            c.go("waits");
            c.write(0, new byte[] {5, 6}, 0);
            run("stop org.nbdosgi.filter.delay");
            assertEquals(ExportState.PARKED, admin.export("waits").state());

            String why = failure("nbd:export-set waits size=2M");
            assertEquals("export 'waits' is parked (waiting for filter 'delay') and the new chain cannot start either: "
                    + "no filter 'delay'; nothing changed", why);
            try {
                admin.rewire("waits", ExportSpec.parse("waits", false, List.of("memory", "2M")), false);
                throw new AssertionError("a rewire that breaks the client's size was accepted");
            } catch (ConfigException refused) {
                assertTrue(refused.getMessage(), refused.getMessage().contains("was promised size 1048576 (would be 2097152)"));
            }
            assertEquals(ExportState.PARKED, admin.export("waits").state());
            assertEquals(List.of("delay"), admin.export("waits").spec().filters());

            long cookie = c.send(NbdClient.CMD_READ, 0, 0, 2, null);   // waits while the export is parked
            assertTrue(run("nbd:filter-remove waits delay").contains("export waits rewired: memory 1M"));
            assertEquals(ExportState.RUNNING, admin.export("waits").state());
            NbdClient.Reply r = c.receive(2, 0);
            assertEquals(cookie, r.cookie);
            assertEquals(0, r.error);
            assertArrayEquals("the plugin's pages waited with the export", new byte[] {5, 6}, r.data);
        } finally {
            run("start org.nbdosgi.filter.delay");
            admin.removeExport("waits");
        }
    }

    @Test
    public void theBundleCommandsAreOursInEverySessionFailClearlyAndAnswerHelp() throws Exception {
        String plain = run("lb -s delay");
        assertTrue(plain, plain.matches("ID\\s+STATE\\s+LEVEL\\s+NAME\\s+VERSION\n\\d+\\s+active\\s+\\d+\\s+org.nbdosgi.filter.delay\\s+\\S+\n"));
        assertEquals(plain, run("felix:lb -s delay"));
        assertEquals("no bundle with id 9999 (bundle:list lists them)", failure("bundle:update 9999"));
        assertEquals("no bundle named no.such.bundle (bundle:list -s lists them)", failure("stop no.such.bundle"));
        // every session gets the console's SCOPE (DefaultScope): a plain name is always the same command
        for (String command : List.of("lb", "list", "install", "update", "start", "stop", "uninstall", "refresh")) {
            for (int i = 0; i < 3; i++) {
                assertTrue(command, run(command + " --help").startsWith("bundle:" + (command.equals("lb") ? "list" : command) + " - "));
            }
        }
        assertTrue(run("info --help").startsWith("shell:info - "));
        assertTrue(run("edit --help").startsWith("config:edit - "));
        assertTrue(run("refresh").contains("refreshed"));
    }
}
