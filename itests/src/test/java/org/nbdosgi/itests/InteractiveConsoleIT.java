package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * The interactive console as a user at a terminal meets it: bin/nbd-osgi in a pseudo-terminal
 * (util-linux script), keys typed, Tab pressed, the screen read back.
 */
public class InteractiveConsoleIT {
    private final StringBuffer screen = new StringBuffer();

    /** What the terminal showed, without colours and cursor movements. */
    private String text() {
        return screen.toString().replaceAll("\u001b\\[[0-9;?]*[A-Za-z]|\u001b[=>]", "");
    }

    /** Waits until {@code text} appears after {@code from} (an offset into the screen); returns where it ends. */
    private int await(Duration limit, int from, String text) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String all = text();
            int at = all.indexOf(text, Math.min(from, all.length()));
            if (at >= 0) {
                return at + text.length();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("'" + text + "' did not appear on the terminal:\n" + all.substring(Math.min(from, all.length())));
            }
            Thread.sleep(50);
        }
    }

    @Test
    public void helpCompletionPipesLogLevelsAndAQuestionBeforeStopping() throws Exception {
        Tools.require("script");
        Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"));
        Files.writeString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"), "name = scratch\nplugin = memory\nsize = 1M\n");
        ProcessBuilder pb = new ProcessBuilder("script", "-qfec", "stty rows 40 cols 200; exec " + nbd.home().resolve("bin/nbd-osgi"),
                "/dev/null").redirectErrorStream(true);
        pb.environment().put("NBD_OSGI_JAVA_OPTS", "-Dnbd.listen.port=" + Tools.freePort() + " -Dnbd.ssh.port=off");
        pb.environment().put("TERM", "xterm");
        Process p = pb.start();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] b = new byte[4096];
                for (int n; (n = in.read(b)) > 0;) {
                    screen.append(new String(b, 0, n, StandardCharsets.UTF_8));
                }
            } catch (java.io.IOException ended) {
                // the terminal closed
            }
        });
        try (OutputStream keys = p.getOutputStream()) {
            int at = await(Duration.ofSeconds(60), 0, "nbd-osgi> ");
            await(Duration.ofSeconds(30), 0, "export 'scratch' started");

            type(keys, "help\r");
            at = await(Duration.ofSeconds(10), at, "nbd:filter-insert");
            for (String listed : new String[] {"bundle:list", "config:edit", "log:set", "shell:info", "system:shutdown"}) {
                assertTrue(listed + " is not in help:\n" + text(), text().contains(listed));
            }
            type(keys, "help nbd:chain\r");
            at = await(Duration.ofSeconds(10), at, "usage: nbd:chain NAME");

            type(keys, "nbd:chain sc\t");
            at = await(Duration.ofSeconds(10), at, ":chain scratch ");
            type(keys, "\u0015nbd:exp\t");                  // Ctrl-U clears the line
            for (String candidate : new String[] {"nbd:export-add", "nbd:export-remove", "nbd:export-set", "nbd:exports"}) {
                await(Duration.ofSeconds(10), at, candidate);
            }
            type(keys, "\u0015nbd:filter-insert scratch del\t");
            at = await(Duration.ofSeconds(10), at, " scratch delay ");

            type(keys, "\u0015bundle:list -s | grep -v memory | grep plugin\r");
            at = await(Duration.ofSeconds(10), at, "org.nbdosgi.plugin.file");
            int prompt = await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            assertFalse("grep -v memory left the memory plugin in:\n" + text().substring(at, prompt),
                    text().substring(at, prompt).contains("plugin.memory"));

            type(keys, "nbd:chain nope\r");
            at = await(Duration.ofSeconds(10), at, "no export named nope");
            assertFalse("a failure shows no Java class name:\n" + text(), text().contains("Command$Failure"));

            type(keys, "log:set DEBUG org.nbdosgi.engine\r");
            at = await(Duration.ofSeconds(10), at, "org.nbdosgi.engine: DEBUG");
            type(keys, "nbd:filter-insert scratch delay\r");
            at = await(Duration.ofSeconds(10), at, "export scratch rewired");
            // FileInstall reads the .cfg the console wrote; the engine says at DEBUG that it changes nothing:
            // the line is printed above the prompt, which comes back under it
            at = await(Duration.ofSeconds(30), at, "[DEBUG] Exports - export 'scratch': its configuration describes the export as it is");
            at = await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            type(keys, "log:display | grep 'describes the export as it is'\r");
            at = await(Duration.ofSeconds(10), at, "[DEBUG] Exports - export 'scratch': its configuration ");

            type(keys, "\u0004");                          // Ctrl-D asks first
            at = await(Duration.ofSeconds(10), at, "Stop nbd-osgi (every export, every client)? (yes/no): ");
            type(keys, "no\r");
            at = await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            assertTrue("the server stops only when the user says so", p.isAlive());
            type(keys, "nbd:exports\r");
            at = await(Duration.ofSeconds(10), at, "scratch  running");

            type(keys, "\u0004");
            await(Duration.ofSeconds(10), at, "(yes/no): ");
            type(keys, "yes\r");
            assertTrue("the server stops after yes:\n" + text(), p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(text(), 0, p.exitValue());
        } finally {
            p.destroyForcibly().waitFor();
            reader.join(5000);
        }
    }

    private static void type(OutputStream keys, String s) throws java.io.IOException {
        keys.write(s.getBytes(StandardCharsets.UTF_8));
        keys.flush();
    }
}
