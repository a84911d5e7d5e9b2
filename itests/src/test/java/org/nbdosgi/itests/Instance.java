package org.nbdosgi.itests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.nbdosgi.testkit.Wait;

/**
 * A private copy of the distribution, started in container mode (no arguments: exports from
 * etc/, bundles from deploy/, the console on data/console.sock), for hot deployment tests that
 * change its files. Listens on a free TCP port.
 */
public final class Instance implements AutoCloseable {
    private final Path home;
    private final int port;
    private Process process;

    private Instance(Path home, int port) {
        this.home = home;
        this.port = port;
    }

    /** A fresh copy of the built distribution under {@code dir}. */
    public static Instance copy(Path dir) throws Exception {
        Path home = dir.resolve("nbd-osgi");
        Tools.run(Duration.ofSeconds(60), "rm", "-rf", home.toString()).ok();
        Tools.run(Duration.ofSeconds(60), "cp", "-r", Distribution.home().toString(), home.toString()).ok();
        Tools.run(Duration.ofSeconds(60), "rm", "-rf", home.resolve("data").toString()).ok();
        Files.createDirectories(home.resolve("data"));
        return new Instance(home, Tools.freePort());
    }

    public Path home() {
        return home;
    }

    /** The container's process id (bin/nbd-osgi execs the JVM). */
    public long pid() {
        return process.pid();
    }

    public Path etc() {
        return home.resolve("etc");
    }

    public Path deploy() {
        return home.resolve("deploy");
    }

    public Path bundles() {
        return home.resolve("bundles");
    }

    public String uri(String export) {
        return "nbd://127.0.0.1:" + port + "/" + export;
    }

    /** Starts the container with extra JVM options (e.g. -Dnbd.park.timeout=5s); waits for the console. */
    public Instance start(String... jvmOptions) throws Exception {
        // metrics on a free port too (container mode's default, 9810, is shared by every test run);
        // an option in jvmOptions comes later and wins
        List<String> opts = new ArrayList<>(List.of("-Dnbd.listen.port=" + port, "-Dnbd.metrics=127.0.0.1:" + Tools.freePort()));
        if (List.of(jvmOptions).stream().noneMatch(o -> o.startsWith("-Dnbd.ssh.port="))) {
            opts.add("-Dnbd.ssh.port=off");             // 8101 may be another test's, or another instance's
        }
        opts.addAll(List.of(jvmOptions));
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/nbd-osgi").toString()).redirectErrorStream(true)
                .redirectOutput(home.resolve("server.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("NBD_OSGI_JAVA_OPTS", String.join(" ", opts));
        process = pb.start();
        Wait.until(Duration.ofSeconds(30), () -> "the container starting: " + log(), () -> {
            if (!process.isAlive()) {
                throw new AssertionError("container exited: " + log());
            }
            return Files.exists(home.resolve("data/console.sock")) && client("nbd:exports").exit() == 0 && listening();
        });
        return this;
    }

    private boolean listening() {
        try (java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(new java.net.InetSocketAddress("127.0.0.1", port))) {
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    /** {@code bin/nbd-osgi-client ARGS...} against this instance. */
    public Tools.Result client(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("bin/nbd-osgi-client").toString()));
        cmd.addAll(List.of(args));
        return Tools.run(Duration.ofSeconds(60), Map.of(), cmd);
    }

    /** Polls a console command until its output contains {@code text}; returns how long it took. */
    public Duration awaitOutput(Duration limit, String text, String... command) throws Exception {
        long t0 = System.nanoTime();
        String[] last = {""};
        Wait.until(limit, () -> "'" + text + "' in:\n" + last[0] + "\nlog:\n" + log(), () -> {
            last[0] = client(command).out();
            return last[0].contains(text);
        });
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Waits until the server's log contains {@code text} {@code times} times; returns the log. */
    public String awaitLog(Duration limit, String text, int times) throws Exception {
        Wait.until(limit, () -> "'" + text + "' " + times + " time(s) in the log:\n" + log(), () -> count(log(), text) >= times);
        return log();
    }

    /** How many times {@code text} occurs in {@code s}. */
    public static int count(String s, String text) {
        return s.split(java.util.regex.Pattern.quote(text), -1).length - 1;
    }

    /** Stops the container (SIGTERM, a clean stop) and waits for it to exit. */
    public void stop() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
                throw new AssertionError("the container did not stop within 30 s: " + log());
            }
        }
    }

    /** Kills the container (SIGKILL): no shutdown hook runs, nothing is saved. */
    public void kill() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroyForcibly().waitFor();
        }
    }

    public String log() throws IOException {
        Path log = home.resolve("server.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /**
     * Stops the container; a copy made in a directory of its own under the system's temporary
     * directory ({@code Files.createTempDirectory}) goes with it: about 60 MB each, which would
     * otherwise pile up in /tmp run after run.
     */
    @Override
    public void close() throws Exception {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
        Path dir = home.getParent();
        if (dir.getParent().equals(Path.of(System.getProperty("java.io.tmpdir")))) {
            Tools.run(Duration.ofSeconds(60), "rm", "-rf", dir.toString()).ok();
        }
    }
}
