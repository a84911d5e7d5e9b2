package org.nbdosgi.plugin.nbd;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** An nbdkit started by a test on a Unix socket in the test's directory, stopped (or killed) by it. */
final class Nbdkit implements AutoCloseable {
    private final Process process;
    private final Path socket;
    private final Path log;

    private Nbdkit(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    /** {@code nbdkit -f -U DIR/NAME.sock ARGS...}, once it accepts connections. */
    static Nbdkit start(Path dir, String name, String... args) throws IOException, InterruptedException {
        Path sock = dir.resolve(name + ".sock");
        Files.deleteIfExists(sock);
        Path log = dir.resolve(name + ".log");
        List<String> cmd = new ArrayList<>(List.of("nbdkit", "-f", "-U", sock.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Nbdkit n = new Nbdkit(p, sock, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError("nbdkit exited: " + Files.readString(log));
            }
            if (Files.exists(sock)) {
                try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    c.connect(UnixDomainSocketAddress.of(sock));
                    return n;
                } catch (IOException notYet) {
                    // bound, not listening yet
                }
            }
            Thread.sleep(20);
        }
        n.kill();
        throw new AssertionError("nbdkit did not listen within 30 s");
    }

    Path socket() {
        return socket;
    }

    String uri() {
        return "nbd+unix:///?socket=" + socket;
    }

    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            kill();
        }
    }
}
