package org.nbdosgi.itests;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import java.time.Duration;
import org.nbdosgi.testkit.Wait;

/**
 * The assembled runtime's {@code bin/nbd-osgi}, started in the foreground as a user would, serving
 * on a Unix socket (or TCP) in a test's work directory. Its stderr goes to {@code server.log}.
 */
public final class ServerProcess implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Integer port;
    private final Path log;
    private final boolean wrapped;

    private ServerProcess(Process process, Path socket, Integer port, Path log, boolean wrapped) {
        this.process = process;
        this.socket = socket;
        this.port = port;
        this.log = log;
        this.wrapped = wrapped;
    }

    public static Path launcher() {
        return Distribution.home().resolve("bin/nbd-osgi");
    }

    /** {@code nbd-osgi -f -U DIR/nbd.sock ARGS...}, once the socket accepts connections. */
    public static ServerProcess unix(Path dir, String... args) throws Exception {
        return unix(dir, Map.of(), args);
    }

    /** As {@link #unix(Path, String...)}, with these environment variables added (e.g. TMPDIR). */
    public static ServerProcess unix(Path dir, Map<String, String> env, String... args) throws Exception {
        Path sock = dir.resolve("nbd.sock");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(List.of(launcher().toString(), "-f", "-U", sock.toString()));
        cmd.addAll(List.of(args));
        ServerProcess s = start(dir, cmd, sock, null, env, false);
        s.awaitUnix();
        return s;
    }

    /**
     * As {@link #unix(Path, String...)}, run by {@code wrapper} (e.g. {@code strace -o F}), which
     * must start the server as its only child; {@link #pid}, {@link #kill} and {@link #stop} act on
     * the server itself.
     */
    public static ServerProcess unixUnder(Path dir, List<String> wrapper, String... args) throws Exception {
        Path sock = dir.resolve("nbd.sock");
        Files.deleteIfExists(sock);
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.addAll(List.of(launcher().toString(), "-f", "-U", sock.toString()));
        cmd.addAll(List.of(args));
        ServerProcess s = start(dir, cmd, sock, null, Map.of(), true);
        s.awaitUnix();
        return s;
    }

    /** {@code nbd-osgi -f -p PORT -i 127.0.0.1 ARGS...}, once the port accepts connections. */
    public static ServerProcess tcp(Path dir, String... args) throws Exception {
        int port = Tools.freePort();
        List<String> cmd = new ArrayList<>(List.of(launcher().toString(), "-f", "-p", Integer.toString(port), "-i", "127.0.0.1"));
        cmd.addAll(List.of(args));
        ServerProcess s = start(dir, cmd, null, port, Map.of(), false);
        s.awaitTcp();
        return s;
    }

    private static ServerProcess start(Path dir, List<String> cmd, Path sock, Integer port, Map<String, String> env,
                                       boolean wrapped) throws IOException {
        Files.createDirectories(dir);
        Path log = dir.resolve("server.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().putAll(env);
        return new ServerProcess(pb.start(), sock, port, log, wrapped);
    }

    private void awaitUnix() throws Exception {
        Wait.until(Duration.ofSeconds(30), () -> "the server listening on " + socket + ":\n" + log(), () -> {
            if (!process.isAlive()) {
                throw new AssertionError("server exited with " + process.exitValue() + ":\n" + log());
            }
            try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                c.connect(UnixDomainSocketAddress.of(socket));
                return true;
            } catch (IOException notYet) {
                return false;                                // not bound, or not accepting yet
            }
        });
    }

    private void awaitTcp() throws Exception {
        Wait.until(Duration.ofSeconds(30), () -> "the server listening on port " + port + ":\n" + log(), () -> {
            if (!process.isAlive()) {
                throw new AssertionError("server exited with " + process.exitValue() + ":\n" + log());
            }
            try (SocketChannel c = SocketChannel.open(new java.net.InetSocketAddress("127.0.0.1", port))) {
                return true;
            } catch (IOException notYet) {
                return false;
            }
        });
    }

    public Path socket() {
        return socket;
    }

    public int port() {
        return port;
    }

    /** The server's process id (the launcher execs the JVM, so this is the JVM). */
    public long pid() {
        return server().pid();
    }

    private ProcessHandle server() {
        return wrapped ? process.toHandle().children().findFirst().orElse(process.toHandle()) : process.toHandle();
    }

    /** The NBD URI of the export named {@code export}. */
    public String uri(String export) {
        return socket != null ? "nbd+unix:///" + export + "?socket=" + socket : "nbd://127.0.0.1:" + port + "/" + export;
    }

    public String uri() {
        return uri("");
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /**
     * Waits (30 s at most) until the log holds {@code text} {@code times} times, then checks it
     * holds it exactly that often (a refusal is logged once); returns the log.
     */
    public String awaitLog(String text, int times) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String log = log();
        while (Instance.count(log, text) < times && System.nanoTime() < deadline) {
            Thread.sleep(100);
            log = log();
        }
        if (Instance.count(log, text) != times) {
            throw new AssertionError("'" + text + "' " + Instance.count(log, text) + " times in the log, not " + times + ":\n" + log);
        }
        return log;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGTERM, then waits; returns the exit status. */
    public int stop() throws InterruptedException {
        if (wrapped) {
            server().destroy();
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("server did not stop within 30 s of SIGTERM");
        }
        return process.exitValue();
    }

    /** SIGKILL: no chance to clean up. */
    public void kill() throws InterruptedException {
        ProcessHandle server = server();
        server.destroyForcibly();
        try {
            server.onExit().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new AssertionError("server " + server.pid() + " did not die of SIGKILL", e);
        }
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        }
    }
}
