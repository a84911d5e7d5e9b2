package org.nbdosgi.launcher;

import java.io.BufferedReader;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * nbdkit's default mode: without {@code -f} (or {@code --run}) the server goes into the background
 * and the command returns once it listens, so scripts can connect right after it. The launcher
 * starts a copy of itself in a new session ({@code setsid}), passes the copy's stderr through until
 * the copy says it is ready, and then exits 0 (or with the copy's status if it failed first). The
 * background copy then writes its log to {@code $TMPDIR/nbd-osgi.PID.log}.
 */
final class Daemon {
    static final String CHILD_PROPERTY = "nbd.daemon";
    private static final String READY = "nbd-osgi-ready";
    private static final Set<String> FOREGROUND = Set.of("-f", "--foreground", "--no-fork", "--run", "-h", "--help",
            "-V", "--version");

    private Daemon() {
    }

    /** Whether this command line asks for a background server (and this is not the background copy). */
    static boolean wanted(String[] args) {
        if (args.length == 0 || Boolean.getBoolean(CHILD_PROPERTY)) {
            return false;
        }
        for (String a : args) {
            if (FOREGROUND.contains(a) || a.startsWith("--run=") || (a.matches("-[rfvnhV]+") && a.contains("f"))) {
                return false;
            }
        }
        return true;
    }

    /** The parent: starts the background copy and waits until it listens or fails. */
    static int startInBackground(String[] args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");                  // no terminal signals for the background server
        }
        cmd.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.add("-D" + CHILD_PROPERTY + "=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Launcher.class.getName());
        cmd.addAll(List.of(args));
        Process child = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Thread errors = Thread.ofPlatform().daemon().start(() -> pump(child.getErrorStream(), System.err));
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            if (line.equals(READY)) {
                errors.join(2000);
                return 0;
            }
            System.out.println(line);
        }
        errors.join(2000);
        return child.waitFor();
    }

    /**
     * The background copy, once it listens: tells the parent, then moves its own output to a log
     * file so the parent's pipes close and the caller's terminal is left alone.
     */
    static Runnable readySignal(PrintStream realOut) {
        return () -> {
            realOut.println(READY);
            realOut.flush();
            try {
                Path log = Path.of(System.getProperty("java.io.tmpdir"), "nbd-osgi." + ProcessHandle.current().pid() + ".log");
                PrintStream file = new PrintStream(new FileOutputStream(log.toFile(), true), true, StandardCharsets.UTF_8);
                System.setErr(file);
                System.setOut(file);
                realOut.close();
                new FileOutputStream(java.io.FileDescriptor.err).close();
            } catch (IOException e) {
                // the server runs on without a log
            }
        };
    }

    private static void pump(InputStream in, OutputStream out) {
        byte[] b = new byte[8192];
        try {
            int n;
            while ((n = in.read(b)) > 0) {
                out.write(b, 0, n);
                out.flush();
            }
        } catch (IOException ignored) {
            // the child closed its end
        }
    }
}
