package org.nbdosgi.itests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real clients the interop tests drive (qemu-img, qemu-io, nbdinfo, nbdcopy, nbdsh, fio)
 * with a timeout, capturing their output. /usr/bin comes first on PATH so nbdsh finds the system
 * Python that has the libnbd module. A missing tool fails the test with the package to install:
 * .ci/run installs them all.
 */
public final class Tools {
    private Tools() {
    }

    public record Result(int exit, String out, String err) {
        public Result ok() {
            if (exit != 0) {
                throw new AssertionError("exit " + exit + "\nstdout: " + out + "\nstderr: " + err);
            }
            return this;
        }
    }

    private static final Map<String, String> PACKAGES = Map.ofEntries(
            Map.entry("qemu-img", "qemu-utils"), Map.entry("qemu-io", "qemu-utils"), Map.entry("nbdinfo", "libnbd-bin"),
            Map.entry("nbdcopy", "libnbd-bin"), Map.entry("nbdsh", "python3-libnbd"), Map.entry("fio", "fio"),
            Map.entry("nbdkit", "nbdkit"), Map.entry("mke2fs", "e2fsprogs"), Map.entry("debugfs", "e2fsprogs"),
            Map.entry("script", "bsdutils"), Map.entry("systemd-socket-activate", "systemd"), Map.entry("systemd-analyze", "systemd"),
            Map.entry("man", "man-db"), Map.entry("col", "bsdextrautils"), Map.entry("mvn", "maven"),
            Map.entry("nginx", "nginx-light"));

    public static void require(String tool) {
        if (tool.startsWith("/") && Files.isExecutable(Path.of(tool))) {
            return;
        }
        for (String dir : List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return;
            }
        }
        throw new AssertionError(tool + " is not installed: apt-get install " + PACKAGES.getOrDefault(tool, tool)
                + " (.ci/run installs every test dependency)");
    }

    public static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        return run(timeout, Map.of(), List.of(command));
    }

    public static Result run(Duration timeout, Map<String, String> env, List<String> command)
            throws IOException, InterruptedException {
        require(command.get(0));
        // tools that drop files in their working directory (fio's verify state) do it under target/
        ProcessBuilder pb = new ProcessBuilder(command).directory(Distribution.workDir("tool-cwd").toFile());
        pb.environment().put("PATH", "/usr/bin:/bin:/usr/sbin:/sbin:" + System.getenv().getOrDefault("PATH", ""));
        pb.environment().putAll(env);
        Path out = Files.createTempFile("nbd-tool", ".out");
        Path err = Files.createTempFile("nbd-tool", ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + timeout
                        + "\nstdout: " + Files.readString(out) + "\nstderr: " + Files.readString(err));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Runs a Python snippet in nbdsh connected to {@code uri} (the handle is {@code h}). */
    public static Result nbdsh(String uri, String python) throws IOException, InterruptedException {
        return run(Duration.ofSeconds(120), Map.of(), List.of("nbdsh", "-u", uri, "-c", python));
    }

    public static List<String> args(String... a) {
        return new ArrayList<>(List.of(a));
    }

    private static final int LOWEST_PORT = 20000;
    private static final int PORTS = 12000;

    /** A TCP port nobody listens on right now. */
    public static int freePort() throws IOException {
        // below the kernel's ephemeral range (32768-60999 here): a port the kernel hands out for
        // ServerSocket(0) may go to one of the tests' own outgoing connections before the server
        // binds it ("cannot listen on 127.0.0.1:33945: Address already in use")
        int first = java.util.concurrent.ThreadLocalRandom.current().nextInt(PORTS);
        for (int i = 0; i < PORTS; i++) {
            int port = LOWEST_PORT + (first + i) % PORTS;
            try (java.net.ServerSocket s = new java.net.ServerSocket(port)) {
                return port;
            } catch (IOException taken) {
                // the next one
            }
        }
        throw new IOException("no free port from " + LOWEST_PORT + " to " + (LOWEST_PORT + PORTS - 1));
    }
}
