package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
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

    private void await(Duration limit, String text) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!text().contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("'" + text + "' did not appear on the terminal:\n" + text());
            }
            Thread.sleep(50);
        }
    }

    @Test
    public void tabCompletesCommandsExportsAndFilters() throws Exception {
        Tools.require("script");
        Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"));
        Files.writeString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"), "name = scratch\nplugin = memory\nsize = 1M\n");
        ProcessBuilder pb = new ProcessBuilder("script", "-qfec", "stty rows 40 cols 200; exec " + nbd.home().resolve("bin/nbd-osgi"),
                "/dev/null").redirectErrorStream(true);
        pb.environment().put("NBD_OSGI_JAVA_OPTS", "-Dnbd.listen.port=" + Tools.freePort());
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
            await(Duration.ofSeconds(60), "nbd-osgi> ");
            await(Duration.ofSeconds(30), "export 'scratch' started");
            // the last start-up line (after the TLS settings are applied): no log line lands in the echo after this
            await(Duration.ofSeconds(30), "listening on");
            type(keys, "nbd:chain sc\t");
            await(Duration.ofSeconds(10), ":chain scratch ");
            type(keys, "\u0015nbd:exp\t");                  // Ctrl-U clears the line
            for (String candidate : new String[] {"nbd:export-add", "nbd:export-remove", "nbd:export-set", "nbd:exports"}) {
                await(Duration.ofSeconds(10), candidate);
            }
            type(keys, "\u0015nbd:filter-insert scratch del\t");
            await(Duration.ofSeconds(10), " scratch delay ");
            type(keys, "\u0015\u0004");                     // Ctrl-D stops the server
            assertTrue("the server stops on Ctrl-D:\n" + text(), p.waitFor(60, TimeUnit.SECONDS));
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
