package org.nbdosgi.launcher;

import java.io.BufferedReader;
import java.io.File;
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

import org.nbdosgi.cli.CommandLine;

/**
 * nbdkit's default mode: without {@code -f} (or an option implying it) the server goes into the
 * background and the command returns once it listens, so scripts can connect right after it. The
 * launcher starts a copy of itself in a new session ({@code setsid}), passes the copy's stderr
 * through until the copy says it is ready, and then exits 0 (or with the copy's status if it
 * failed first). The copy's messages then go where {@code --log} says ({@link LogRouting}).
 */
final class Daemon {
    static final String CHILD_PROPERTY = "nbd.daemon";
    private static final String READY = "nbd-osgi-ready";

    private Daemon() {
    }

    /** Whether this process is the background copy. */
    static boolean isChild() {
        return Boolean.getBoolean(CHILD_PROPERTY);
    }

    /** The parent: starts the background copy and waits until it listens or fails. */
    static int startInBackground(String[] args, CommandLine cl) throws IOException, InterruptedException {
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
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        if (cl.log() == CommandLine.Log.STDERR) {
            pb.redirectError(ProcessBuilder.Redirect.INHERIT);  // asked for: the server keeps the caller's stderr
        }
        Process child = pb.start();
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
     * The background copy, once it listens: moves its messages to their place without a terminal,
     * then tells the parent (whose pipes then close, leaving the caller's terminal alone).
     */
    static Runnable readySignal(PrintStream realOut, LogRouting logs) {
        return () -> {
            try {
                Path file = logs.detach();
                if (file != null) {
                    System.err.println("nbd-osgi: started, pid " + ProcessHandle.current().pid() + ", log " + file);
                }
            } catch (IOException e) {
                System.err.println("nbd-osgi: warning: " + e.getMessage());
            }
            realOut.println(READY);
            realOut.flush();
            realOut.close();
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
