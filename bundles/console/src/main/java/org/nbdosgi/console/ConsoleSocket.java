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
import org.nbdosgi.console.session.PlainText;
import org.nbdosgi.console.session.Script;
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
 * script per connection (one command line, or a file's lines for {@code -f}; the client ends it by
 * shutting down its side), runs it ({@link Script}) and sends back its output, without colours
 * ({@link PlainText}: the client's reader is no terminal), followed by one byte, the exit status:
 * 0, or 1 when a command failed (the script stops there). Control plane.
 */
@Component(immediate = true)
public final class ConsoleSocket {
    private static final Logger LOG = LoggerFactory.getLogger(ConsoleSocket.class);
    private static final int MAX_SCRIPT = 1024 * 1024;

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
            String script = readScript(client);
            PrintStream out = new PrintStream(new PlainText(raw), true, StandardCharsets.UTF_8);
            int status = Script.run(processor, script, new ByteArrayInputStream(new byte[0]), out, out);
            out.flush();
            raw.write(status);
        } catch (IOException e) {
            LOG.debug("console client went away: {}", e.getMessage());
        }
    }

    private static String readScript(SocketChannel c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(MAX_SCRIPT);
        while (b.hasRemaining() && c.read(b) >= 0) {
            // until the client shuts down its side
        }
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }
}
