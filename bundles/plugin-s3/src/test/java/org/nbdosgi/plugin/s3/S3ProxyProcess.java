package org.nbdosgi.plugin.s3;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * S3Proxy (a real S3 API server over a local directory, jclouds' filesystem provider) in a process
 * of its own on a free loopback port, as the tests' object store. The build fetches its jar
 * ({@code org.gaul:s3proxy}, classifier {@code jar-with-dependencies}) and names it in the system
 * property {@code s3proxy.jar}. A bucket is a directory under {@link #dataDir()}; stopping and
 * starting again keeps the data, so tests can kill the store under load and bring it back.
 */
public final class S3ProxyProcess implements AutoCloseable {
    public static final String ACCESS_KEY = "test-access-key";
    public static final String SECRET_KEY = "test-secret-key";

    private final Path dir;
    private final int port;
    private Process process;

    private S3ProxyProcess(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Starts S3Proxy storing its buckets under {@code dir/data}; returns once it answers. */
    public static S3ProxyProcess start(Path dir) throws IOException, InterruptedException {
        S3ProxyProcess s = new S3ProxyProcess(dir, freePort());
        Files.createDirectories(s.dataDir());
        Files.writeString(dir.resolve("s3proxy.conf"), String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + s.port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem-nio2",
                "jclouds.identity=local",
                "jclouds.credential=local",
                "jclouds.filesystem.basedir=" + s.dataDir(),
                ""));
        s.launch();
        return s;
    }

    private void launch() throws IOException, InterruptedException {
        String jar = System.getProperty("s3proxy.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("system property s3proxy.jar does not name S3Proxy's jar (the build fetches it): " + jar);
        }
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-Xmx256m", "-jar", jar, "--properties", dir.resolve("s3proxy.conf").toString()));
        pb.environment().put("LOG_LEVEL", "warn");
        process = pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("s3proxy.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("S3Proxy exited with " + process.exitValue() + ":\n" + Files.readString(dir.resolve("s3proxy.log")));
            }
            try (Socket c = new Socket()) {
                c.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        throw new IllegalStateException("S3Proxy did not listen on port " + port + " within 60 s");
    }

    /** Creates a bucket (the filesystem provider's bucket is a directory); returns its name. */
    public String bucket(String name) throws IOException {
        Files.createDirectories(dataDir().resolve(name));
        return name;
    }

    public Path dataDir() {
        return dir.resolve("data");
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    /** SIGKILL, as a crashed store: in-flight requests see their connections drop. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** Starts it again on the same port, over the same data. */
    public void restart() throws IOException, InterruptedException {
        if (process.isAlive()) {
            kill();
        }
        launch();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
