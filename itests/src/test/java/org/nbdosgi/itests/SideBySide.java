package org.nbdosgi.itests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The same command line run with nbdkit (1.32, the yardstick) and with {@code bin/nbd-osgi}, for
 * tests that compare what a user sees: exit status, output, the client's view.
 */
final class SideBySide {
    static final Duration T = Duration.ofSeconds(90);

    /** The two servers, by the command that starts them. */
    enum Server {
        NBDKIT("nbdkit"), NBD_OSGI(ServerProcess.launcher().toString());

        final String command;

        Server(String command) {
            this.command = command;
        }
    }

    record Pair(Tools.Result nbdkit, Tools.Result nbdOsgi) {
    }

    private SideBySide() {
    }

    static Tools.Result run(Server server, Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(server.command));
        cmd.addAll(List.of(args));
        return Tools.run(T, env, cmd);
    }

    static Pair both(String... args) throws IOException, InterruptedException {
        return new Pair(run(Server.NBDKIT, Map.of(), args), run(Server.NBD_OSGI, Map.of(), args));
    }

    /** Output with each server's private socket path and name replaced, so the two can be compared. */
    static String normalized(String out) {
        return out.replaceAll("/tmp/nbdkit[A-Za-z0-9]+/socket", "SOCKET").replaceAll("/[^ \"'?]*nbd-osgi[0-9a-z]+/socket", "SOCKET");
    }

    /** A server started in the background by {@code command} (the test stops it). */
    static Process start(List<String> command, Path log) throws IOException {
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("PATH", "/usr/bin:/bin:/usr/sbin:/sbin:" + System.getenv().getOrDefault("PATH", ""));
        return pb.start();
    }

    static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
        }
    }

    /** Waits until {@code check} passes (nbdinfo reaches a server, a file appears), at most 60 s. */
    static void await(String what, Check check) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!check.passes()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    interface Check {
        boolean passes() throws Exception;
    }

    /** nbdinfo --size on {@code uri}, or null when it cannot connect. */
    static String size(String uri) throws IOException, InterruptedException {
        Tools.Result r = Tools.run(T, "nbdinfo", "--size", uri);
        return r.exit() == 0 ? r.out().trim() : null;
    }
}
