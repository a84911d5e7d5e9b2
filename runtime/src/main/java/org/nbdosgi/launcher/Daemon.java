package org.nbdosgi.launcher;

import java.io.BufferedReader;
import java.io.Console;
import java.io.File;
import java.io.FileInputStream;
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
import java.util.regex.Pattern;

import org.nbdosgi.cli.CommandLine;

/**
 * nbdkit's default mode: without {@code -f} (or an option implying it) the server goes into the
 * background and the command returns once it listens, so scripts can connect right after it. The
 * launcher starts a copy of itself in a new session ({@code setsid}), passes the copy's stderr
 * through until the copy says it is ready, and then exits 0 (or with the copy's status if it
 * failed first). The copy's messages then go where {@code --log} says ({@link LogRouting}).
 *
 * <p>A secret given as {@code KEY=-} (standard input) or {@code KEY=-FD} (a descriptor) is read
 * here, before the server goes to the background, as nbdkit reads a password before it forks: the
 * copy has neither the terminal nor the descriptor. The value reaches the copy on its standard
 * input, one line per such parameter, the argument rewritten to {@code KEY=-}. The launcher cannot
 * see which parameters a plugin declares secret, so it takes those named like one (as
 * {@code ExportSpec.isSecret} names them: password, secret, cookie, token...).
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

    /** Parameter names that hold secrets, as the api's ExportSpec.isSecret says. */
    private static final Pattern SECRET_KEY = Pattern.compile("(?i)[A-Za-z0-9_.-]*(password|passwd|secret|cookie|token)[A-Za-z0-9_.-]*");

    /** The parent: starts the background copy and waits until it listens or fails. */
    static int startInBackground(String[] args, CommandLine cl) throws IOException, InterruptedException {
        StringBuilder secrets = new StringBuilder();
        args = readSecrets(args, secrets);
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
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (secrets.isEmpty()) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        if (cl.log() == CommandLine.Log.STDERR) {
            pb.redirectError(ProcessBuilder.Redirect.INHERIT);  // asked for: the server keeps the caller's stderr
        }
        Process child = pb.start();
        if (!secrets.isEmpty()) {
            try (OutputStream in = child.getOutputStream()) {
                in.write(secrets.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
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
     * The arguments with each secret given as {@code KEY=-} or {@code KEY=-FD} read into
     * {@code values} (a line each) and rewritten to {@code KEY=-}.
     */
    private static String[] readSecrets(String[] args, StringBuilder values) throws IOException {
        String[] out = args.clone();
        BufferedReader stdin = null;
        for (int i = 0; i < out.length; i++) {
            int eq = out[i].indexOf('=');
            if (eq <= 0 || !SECRET_KEY.matcher(out[i].substring(0, eq)).matches()) {
                continue;
            }
            String key = out[i].substring(0, eq);
            String given = out[i].substring(eq + 1);
            String value;
            if (given.equals("-")) {
                Console terminal = System.console();
                if (terminal != null) {
                    char[] typed = terminal.readPassword("%s: ", key);
                    value = typed == null ? "" : new String(typed);
                } else {
                    stdin = stdin != null ? stdin : new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                    value = stdin.readLine();
                    if (value == null) {
                        continue;                        // nothing there: the server says so
                    }
                }
            } else if (given.matches("-[0-9]+") && new File("/proc/self/fd/" + given.substring(1)).exists()) {
                try (InputStream fd = new FileInputStream("/proc/self/fd/" + given.substring(1))) {
                    value = new String(fd.readAllBytes(), StandardCharsets.UTF_8);
                }
                value = value.endsWith("\r\n") ? value.substring(0, value.length() - 2)
                        : value.endsWith("\n") ? value.substring(0, value.length() - 1) : value;
            } else {
                continue;
            }
            values.append(value).append('\n');
            out[i] = key + "=-";
        }
        return out;
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
