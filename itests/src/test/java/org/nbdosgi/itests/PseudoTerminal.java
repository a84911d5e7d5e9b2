package org.nbdosgi.itests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * A command run in a pseudo-terminal of 40 rows and 200 columns (util-linux {@code script}), as a
 * user at a terminal runs it: keys typed, the screen read back without colours and cursor
 * movements.
 */
final class PseudoTerminal implements AutoCloseable {
    private final StringBuffer screen = new StringBuffer();
    private final Process process;
    private final OutputStream keys;
    private final Thread reader;

    /** Starts {@code command} (a shell command line) with {@code TERM=xterm} and {@code env}. */
    PseudoTerminal(String command, Map<String, String> env) throws IOException {
        Tools.require("script");
        ProcessBuilder pb = new ProcessBuilder("script", "-qfec", "stty rows 40 cols 200; exec " + command, "/dev/null")
                .redirectErrorStream(true);
        pb.environment().put("TERM", "xterm");
        pb.environment().putAll(env);
        process = pb.start();
        keys = process.getOutputStream();
        reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = process.getInputStream()) {
                byte[] b = new byte[4096];
                for (int n; (n = in.read(b)) > 0;) {
                    screen.append(new String(b, 0, n, StandardCharsets.UTF_8));
                }
            } catch (IOException ended) {
                // the terminal closed
            }
        });
    }

    Process process() {
        return process;
    }

    /** What the terminal showed, without colours and cursor movements. */
    String text() {
        return screen.toString().replaceAll("\u001b\\[[0-9;?]*[A-Za-z@]|\u001b[=>]", "");
    }

    /** Waits until {@code text} appears after {@code from} (an offset into {@link #text()}); returns where it ends. */
    int await(Duration limit, int from, String text) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            String all = text();
            int at = all.indexOf(text, Math.min(from, all.length()));
            if (at >= 0) {
                return at + text.length();
            }
            if (System.nanoTime() > deadline) {
                int shown = Math.max(0, Math.min(from, all.length()) - 2000);
                throw new AssertionError("'" + text + "' did not appear on the terminal after offset " + from + "; it shows, from offset "
                        + shown + ":\n" + all.substring(shown));
            }
            Thread.sleep(50);
        }
    }

    void type(String s) throws IOException {
        keys.write(s.getBytes(StandardCharsets.UTF_8));
        keys.flush();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly().waitFor();
        reader.join(5000);
    }
}
