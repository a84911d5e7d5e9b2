package org.nbdosgi.console;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console over a local socket, for {@code bin/nbd-osgi-client}: a Unix domain socket (mode
 * 0600 from the start, at the framework property {@code nbd.console.socket}) that takes one
 * command line per connection, runs it in a Gogo session and sends back its output followed by one
 * byte, the exit status: 0, or 1 when the command failed. Control plane.
 */
@Component(immediate = true)
public final class ConsoleSocket {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleSocket.class);
    private static final int MAX_LINE = 64 * 1024;

    @Reference
    private CommandProcessor processor;

    private ServerSocketChannel server;
    private Path path;

    @Activate
    void activate(BundleContext context) {
        String where = context.getProperty("nbd.console.socket");
        if (where == null || where.isBlank()) {
            return;
        }
        path = Path.of(where).toAbsolutePath();
        try {
            server = bindPrivately(path);
        } catch (IOException e) {
            LOG.error("no console socket at {}: {}", path, e.getMessage());
            server = null;
            return;
        }
        LOG.info("console socket: {}", path);
        // a virtual thread: an idle console costs no platform thread
        Thread.ofVirtual().name("nbd-console-socket").start(this::acceptLoop);
    }

    /**
     * Binds the socket at {@code .nbd-XXXXXX/s} beside {@code path}, in a new directory only we may
     * enter, makes it 0600 and renames it into place, so it never exists with the umask's
     * permissions where others could reach it. (The launcher keeps the path short enough for that
     * temporary name: a Unix socket path holds 107 bytes.)
     */
    private static ServerSocketChannel bindPrivately(Path path) throws IOException {
        Path dir = privateDirectory(path.getParent());
        Path staged = dir.resolve("s");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(staged));
            Files.setPosixFilePermissions(staged, PosixFilePermissions.fromString("rw-------"));
            Files.move(staged, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return server;
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        } finally {
            Files.deleteIfExists(staged);
            Files.delete(dir);
        }
    }

    private static Path privateDirectory(Path parent) throws IOException {
        var owner = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        while (true) {
            String name = ".nbd-" + Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36 * 36), 36);
            try {
                return Files.createDirectory(parent.resolve(name), owner);
            } catch (FileAlreadyExistsException taken) {
                // another instance is binding beside us: draw again
            }
        }
    }

    @Deactivate
    void deactivate() throws IOException {
        if (server != null) {
            server.close();
            Files.deleteIfExists(path);
        }
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel client = server.accept();
                Thread.ofVirtual().name("nbd-console-client").start(() -> serve(client));
            } catch (IOException e) {
                if (server.isOpen()) {
                    LOG.warn("console socket: {}", e.getMessage());
                }
            }
        }
    }

    private void serve(SocketChannel client) {
        try (client; OutputStream raw = Channels.newOutputStream(client)) {
            String line = readLine(client);
            PrintStream out = new PrintStream(raw, true, StandardCharsets.UTF_8);
            int status = run(line, out);
            out.flush();
            raw.write(status);
        } catch (IOException e) {
            LOG.debug("console client went away: {}", e.getMessage());
        }
    }

    /** Runs a command line; 0 if it worked, 1 if it failed (the reason printed). */
    int run(String line, PrintStream out) {
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), out, out)) {
            Object result = session.execute(line);
            if (result != null) {
                out.println(session.format(result, org.apache.felix.service.command.Converter.INSPECT));
            }
            return 0;
        } catch (Command.Failure e) {
            out.println("nbd-osgi: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            out.println("nbd-osgi: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        }
    }

    private static String readLine(SocketChannel c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(MAX_LINE);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                break;
            }
            if (b.position() > 0 && b.get(b.position() - 1) == '\n') {
                break;
            }
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }
}
