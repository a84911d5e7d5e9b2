package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * The interactive console as a user at a terminal meets it: bin/nbd-osgi in a pseudo-terminal
 * ({@link PseudoTerminal}), keys typed, Tab pressed, the screen read back.
 */
public class InteractiveConsoleIT {
    @Test
    public void helpCompletionPipesLogLevelsAndAQuestionBeforeStopping() throws Exception {
        Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"));
        Files.writeString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"), "name = scratch\nplugin = memory\nsize = 1M\n");
        try (PseudoTerminal t = new PseudoTerminal(nbd.home().resolve("bin/nbd-osgi").toString(),
                Map.of("NBD_OSGI_JAVA_OPTS", "-Dnbd.listen.port=" + Tools.freePort() + " -Dnbd.ssh.port=off -Dnbd.metrics=" + Tools.freePort()))) {
            Process p = t.process();
            int at = t.await(Duration.ofSeconds(60), 0, "nbd-osgi> ");
            t.await(Duration.ofSeconds(30), 0, "export 'scratch' started");
            // the bundles after plugin-memory still log as they start: type once the last (vddk, then system/metrics) has,
            // so no line cuts the echo
            t.await(Duration.ofSeconds(30), 0, "plugin 'vddk' available");
            t.await(Duration.ofSeconds(30), 0, "metrics: Prometheus endpoint");
            assertTrue(t.text(), t.text().contains("Ctrl-D or exit asks before stopping the server"));

            t.type("help\r");
            at = t.await(Duration.ofSeconds(10), at, "nbd:filter-insert");
            for (String listed : new String[] {"bundle:list", "config:edit", "log:set", "shell:info", "system:shutdown", "gogo:grep"}) {
                assertTrue(listed + " is not in help:\n" + t.text(), t.text().contains(listed));
            }
            t.type("help nbd:chain\r");
            at = t.await(Duration.ofSeconds(10), at, "usage: nbd:chain NAME");

            t.type("nbd:chain sc\t");
            at = t.await(Duration.ofSeconds(10), at, ":chain scratch ");
            t.type("\u0015nbd:exp\t");                  // Ctrl-U clears the line
            for (String candidate : new String[] {"nbd:export-add", "nbd:export-remove", "nbd:export-set", "nbd:exports"}) {
                t.await(Duration.ofSeconds(10), at, candidate);
            }
            t.type("\u0015nbd:filter-insert scratch del\t");
            at = t.await(Duration.ofSeconds(10), at, " scratch delay ");

            t.type("\u0015bundle:list -s | grep -v memory | grep plugin\r");
            at = t.await(Duration.ofSeconds(10), at, "org.nbdosgi.plugin.file");
            int prompt = t.await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            assertFalse("grep -v memory left the memory plugin in:\n" + t.text().substring(at, prompt),
                    t.text().substring(at, prompt).contains("plugin.memory"));

            t.type("nbd:chain nope\r");
            at = t.await(Duration.ofSeconds(10), at, "no export named nope");
            assertFalse("a failure shows no Java class name:\n" + t.text(), t.text().contains("Command$Failure"));

            t.type("log:set DEBUG org.nbdosgi.engine\r");
            at = t.await(Duration.ofSeconds(10), at, "org.nbdosgi.engine: DEBUG");
            t.type("nbd:filter-insert scratch delay\r");
            at = t.await(Duration.ofSeconds(10), at, "export scratch rewired");
            // FileInstall reads the .cfg the console wrote; the engine says at DEBUG that it changes nothing:
            // the line is printed above the prompt, which comes back under it
            at = t.await(Duration.ofSeconds(30), at, "[DEBUG] Exports - export 'scratch': its configuration describes the export as it is");
            at = t.await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            t.type("log:display | grep 'describes the export as it is'\r");
            at = t.await(Duration.ofSeconds(10), at, "[DEBUG] Exports - export 'scratch': its configuration ");

            t.type("log:tail -n 1\r");
            at = t.await(Duration.ofSeconds(10), at, "] ");            // the last log line: time [LEVEL] logger - text
            t.type("\u0003");                          // Ctrl-C stops the command, not the console
            at = t.await(Duration.ofSeconds(10), at, "nbd-osgi> ");

            t.type("\u0004");                          // Ctrl-D asks first
            at = t.await(Duration.ofSeconds(10), at, "Stop nbd-osgi (every export, every client)? (yes/no): ");
            t.type("no\r");
            at = t.await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            assertTrue("the server stops only when the user says so", p.isAlive());
            t.type("nbd:exports\r");
            at = t.await(Duration.ofSeconds(10), at, "scratch  running");

            t.type("\u0004");
            t.await(Duration.ofSeconds(10), at, "(yes/no): ");
            t.type("yes\r");
            assertTrue("the server stops after yes:\n" + t.text(), p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(t.text(), 0, p.exitValue());
        }
    }
}
