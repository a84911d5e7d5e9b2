package org.nbdosgi.launcher;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import org.nbdosgi.cli.CommandLine;

/**
 * {@code --log=stderr|syslog|null}, nbdkit's way: messages (errors, warnings, the log) go where
 * {@code --log} says; debug lines ({@code -v}) go to standard error as long as there is one. Every
 * line the process writes to {@code System.err} (slf4j-simple's output and the one-line errors)
 * passes through here and is routed whole; a stack trace's lines follow the line before them.
 *
 * <p>A server in the background has no standard error once it is ready: then messages go to the
 * system log with {@code --log=syslog}, nowhere with {@code --log=null}, and by default to
 * {@code nbd-osgi.PID.log} in a private directory ({@code $XDG_RUNTIME_DIR/nbd-osgi}, else
 * {@code $TMPDIR/nbd-osgi-UID}, mode 0700, ours, not a symbolic link), created new (never
 * appending to a file someone prepared) with mode 0600.
 */
final class LogRouting extends OutputStream {
    /** One destination for whole lines. */
    private interface Sink {
        void line(String line) throws IOException;
    }

    private final PrintStream stderr;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private volatile Sink messages;
    private volatile boolean detached;
    private boolean lastWasDebug;

    private LogRouting(PrintStream stderr, Sink messages) {
        this.stderr = stderr;
        this.messages = messages;
    }

    /** Routes {@code System.err} as {@code log} says (null: standard error until detached). */
    static LogRouting install(CommandLine.Log log) throws IOException {
        PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        LogRouting routing = new LogRouting(stderr, sink(log, stderr));
        System.setErr(new PrintStream(routing, true, StandardCharsets.UTF_8));
        return routing;
    }

    private static Sink sink(CommandLine.Log log, PrintStream stderr) throws IOException {
        if (log == null || log == CommandLine.Log.STDERR) {
            return stderr::println;
        }
        return log == CommandLine.Log.NULL ? line -> { } : syslog();
    }

    /**
     * The background server lost its standard error: from now on everything goes to the log's
     * destination, by default a new private log file. Returns that file, or null.
     */
    Path detach(CommandLine.Log log) throws IOException {
        Path file = null;
        if (log == null) {
            file = privateLogFile();
            PrintStream out = new PrintStream(java.nio.channels.Channels.newOutputStream(Files.newByteChannel(file,
                    Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))),
                    true, StandardCharsets.UTF_8);
            messages = out::println;
        } else if (log == CommandLine.Log.STDERR) {
            messages = line -> { };                        // the caller's terminal is gone
        }
        detached = true;
        return file;
    }

    @Override
    public synchronized void write(int b) throws IOException {
        if (b == '\n') {
            String line = pending.toString(StandardCharsets.UTF_8);
            pending.reset();
            route(line);
        } else {
            pending.write(b);
        }
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        for (int i = off; i < off + len; i++) {
            write(b[i]);
        }
    }

    private void route(String line) throws IOException {
        boolean continuation = line.startsWith("\t") || line.startsWith("Caused by:") || line.startsWith("Suppressed:");
        boolean debug = continuation ? lastWasDebug : line.contains(" [DEBUG] ") || line.contains(" [TRACE] ");
        lastWasDebug = debug;
        if (debug && !detached) {
            stderr.println(line);
        } else {
            messages.line(line);
        }
    }

    /** The system log through util-linux's logger, each line with its priority. */
    private static Sink syslog() throws IOException {
        ProcessBuilder pb = new ProcessBuilder("logger", "-t", "nbd-osgi", "--id=" + ProcessHandle.current().pid(),
                "--prio-prefix").redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process logger;
        try {
            logger = pb.start();
        } catch (IOException e) {
            throw new IOException("--log=syslog needs the logger command (util-linux): " + e.getMessage(), e);
        }
        PrintStream in = new PrintStream(logger.getOutputStream(), true, StandardCharsets.UTF_8);
        return line -> in.println(priority(line) + line);
    }

    /** syslog priorities in the daemon facility: err, warning, info, debug. */
    private static String priority(String line) {
        if (line.contains(" [DEBUG] ") || line.contains(" [TRACE] ")) {
            return "<31>";
        }
        if (line.contains(" [INFO] ")) {
            return "<30>";
        }
        return line.contains(" [WARN] ") || line.contains("warning:") ? "<28>" : "<27>";
    }

    private static Path privateLogFile() throws IOException {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        long uid = ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
        Path dir = runtime != null && !runtime.isBlank() && Files.isDirectory(Path.of(runtime))
                ? Path.of(runtime, "nbd-osgi") : Path.of(System.getProperty("java.io.tmpdir"), "nbd-osgi-" + uid);
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(ownerOnly));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // another server made it: checked below like any existing one
            }
        }
        PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        long owner = ((Number) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        if (!a.isDirectory() || owner != uid || !a.permissions().equals(ownerOnly)) {
            throw new IOException("not logging to " + dir + ": it is not a directory of ours with mode 0700");
        }
        Path file = dir.resolve("nbd-osgi." + ProcessHandle.current().pid() + ".log");
        Files.deleteIfExists(file);                        // a leftover of a process that had our pid; ours to remove
        return file;
    }
}
