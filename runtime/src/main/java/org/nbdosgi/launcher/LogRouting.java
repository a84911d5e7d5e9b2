package org.nbdosgi.launcher;

import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.stream.Stream;

import org.nbdosgi.cli.CommandLine;

/**
 * {@code --log=stderr|syslog|null}, nbdkit's way: where the server's messages go. Two streams carry
 * them: the log (Logback's lines, written by the logging bundle to file descriptor 2, or to the file
 * the system property {@code nbd.log.file} names) and {@code System.err} (the one-line errors),
 * which this class replaces: its lines are routed whole, a stack trace's lines following the line
 * before them, debug lines to standard error while there is one.
 * <ul>
 *   <li>{@code stderr} (the default in the foreground): both to file descriptor 2.</li>
 *   <li>{@code null}: both discarded (the log to /dev/null).</li>
 *   <li>{@code syslog}: both to util-linux {@code logger}; the log through the pipe to it, opened
 *       by its /proc/self/fd name; the error lines with their priority.</li>
 *   <li>A server in the background without {@code --log}: the log to {@code nbd-osgi.PID.log} in a
 *       private directory ({@code $XDG_RUNTIME_DIR/nbd-osgi}, else {@code $TMPDIR/nbd-osgi-UID}:
 *       mode 0700, ours, not a symbolic link), created new (never a file someone prepared) with
 *       mode 0600; the error lines to the caller's terminal until the server is ready
 *       ({@link #detach}), then to that file too.</li>
 * </ul>
 */
final class LogRouting extends OutputStream {
    /** One destination for whole lines. */
    private interface Sink {
        void line(String line) throws IOException;
    }

    private final PrintStream stderr;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final Path logFile;
    private volatile Sink messages;
    private volatile boolean detached;
    private boolean lastWasDebug;

    private LogRouting(PrintStream stderr, Sink messages, Path logFile) {
        this.stderr = stderr;
        this.messages = messages;
        this.logFile = logFile;
    }

    /**
     * Routes {@code System.err} and points the log (system property {@code nbd.log.file}) as
     * {@code log} says; {@code background}: this is the background copy, which will {@link #detach}.
     */
    static LogRouting install(CommandLine.Log log, boolean background) throws IOException {
        PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        Sink messages = stderr::println;
        Path logFile = null;
        if (log == CommandLine.Log.NULL) {
            messages = line -> { };
            System.setProperty("nbd.log.file", "/dev/null");
        } else if (log == CommandLine.Log.SYSLOG) {
            messages = syslog();
        } else if (log == null && background) {
            logFile = privateLogFile();
            System.setProperty("nbd.log.file", logFile.toString());
        }
        LogRouting routing = new LogRouting(stderr, messages, logFile);
        System.setErr(new PrintStream(routing, true, StandardCharsets.UTF_8));
        return routing;
    }

    /**
     * The background server is ready and its caller's standard error goes away: error lines go to
     * the private log file from now on (with {@code --log}, where it says). Returns that file, or null.
     */
    Path detach() throws IOException {
        if (logFile != null) {
            PrintStream out = new PrintStream(Channels.newOutputStream(Files.newByteChannel(logFile,
                    Set.of(StandardOpenOption.WRITE, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS))),
                    true, StandardCharsets.UTF_8);
            messages = out::println;
        }
        detached = true;
        return logFile;
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

    /**
     * The system log through util-linux's logger: error lines with their priority; the log (the
     * logging bundle opens {@code nbd.log.file}) through the same pipe, at the daemon facility's info.
     */
    private static Sink syslog() throws IOException {
        ProcessBuilder pb = new ProcessBuilder("logger", "-t", "nbd-osgi", "--id=" + ProcessHandle.current().pid(),
                "-p", "daemon.info", "--prio-prefix")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process logger;
        try {
            logger = pb.start();
        } catch (IOException e) {
            throw new IOException("--log=syslog needs the logger command (util-linux): " + e.getMessage(), e);
        }
        PrintStream in = new PrintStream(logger.getOutputStream(), true, StandardCharsets.UTF_8);
        String pipe = Files.readSymbolicLink(Path.of("/proc/" + logger.pid() + "/fd/0")).toString();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().equals(pipe);
                } catch (IOException e) {
                    return false;                          // the listing's own descriptor, gone already
                }
            }).findFirst().ifPresent(fd -> System.setProperty("nbd.log.file", fd.toString()));
        }
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

    /** A new log file, 0600, in this user's private directory (made 0700 if missing, refused if not ours). */
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
            throw new IOException("not logging to " + dir + ": it is not a directory of ours with mode 0700 (see --log)");
        }
        Path file = dir.resolve("nbd-osgi." + ProcessHandle.current().pid() + ".log");
        Files.deleteIfExists(file);                        // a leftover of a process that had our pid; ours to remove
        Files.newByteChannel(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))).close();
        return file;
    }
}
