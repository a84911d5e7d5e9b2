package org.nbdosgi.itests;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real nbdkit (Debian's) as the upstream server of a remote-plugin test, on a Unix socket in the
 * test's directory or on a loopback TCP port: started by the test, killed or stopped by it, and
 * started again on the same socket or port. Its stderr goes to {@code NAME.log}.
 */
public final class NbdkitProcess implements AutoCloseable {
    private final Path socket;               // null on TCP
    private final int port;
    private final Path log;
    private final List<String> args;
    private Process process;

    private NbdkitProcess(Path socket, int port, Path log, List<String> args) {
        this.socket = socket;
        this.port = port;
        this.log = log;
        this.args = args;
    }

    /** {@code nbdkit -f -U DIR/NAME.sock ARGS...}, once it accepts connections. */
    public static NbdkitProcess unix(Path dir, String name, String... args) throws IOException, InterruptedException {
        Tools.require("nbdkit");
        NbdkitProcess n = new NbdkitProcess(dir.resolve(name + ".sock"), 0, dir.resolve(name + ".log"), List.of(args));
        n.start();
        return n;
    }

    /** {@code nbdkit -f -i 127.0.0.1 -p PORT ARGS...} on a free port, once it accepts connections. */
    public static NbdkitProcess tcp(Path dir, String name, String... args) throws IOException, InterruptedException {
        Tools.require("nbdkit");
        NbdkitProcess n = new NbdkitProcess(null, Tools.freePort(), dir.resolve(name + ".log"), List.of(args));
        n.start();
        return n;
    }

    /** Starts it (again) with the same arguments and socket or port; returns once it listens. */
    public void start() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("nbdkit", "-f"));
        if (socket != null) {
            Files.deleteIfExists(socket);
            cmd.addAll(List.of("-U", socket.toString()));
        } else {
            cmd.addAll(List.of("-i", "127.0.0.1", "-p", Integer.toString(port)));
        }
        cmd.addAll(args);
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("nbdkit exited with " + process.exitValue() + ": " + Files.readString(log));
            }
            if (socket == null || Files.exists(socket)) {
                try (SocketChannel c = socket != null ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open()) {
                    c.connect(socket != null ? UnixDomainSocketAddress.of(socket) : new InetSocketAddress("127.0.0.1", port));
                    return;
                } catch (IOException notYet) {
                    // not accepting yet
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("nbdkit did not listen on " + (socket != null ? socket : "port " + port) + " within 30 s: "
                + Files.readString(log));
    }

    public Path socket() {
        return socket;
    }

    public int port() {
        return port;
    }

    public String uri() {
        return socket != null ? "nbd+unix:///?socket=" + socket : "nbd://127.0.0.1:" + port + "/";
    }

    /** SIGKILL, as a crash or a lost host: no chance to finish anything. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
