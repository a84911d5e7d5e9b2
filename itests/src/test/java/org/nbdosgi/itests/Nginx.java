package org.nbdosgi.itests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's nginx serving a directory on a loopback port, started by a test in its own directory
 * (configuration, logs, temp files) as one process (no master, no daemon), so a SIGKILL kills the
 * whole server and a restart takes the same port again. Options: TLS with HTTP/2 from a certificate
 * the test made, and Basic authentication from an htpasswd file. The access log has one line per request: method, Range, status, body bytes,
 * protocol, and the X-Token and Cookie headers.
 */
public final class Nginx implements AutoCloseable {
    private final Path dir;
    private final Path root;
    private final int port;
    private Path certificate;
    private Path key;
    private Path htpasswd;
    private Process process;

    private Nginx(Path dir, Path root, int port) {
        this.dir = dir;
        this.root = root;
        this.port = port;
    }

    /** An nginx (not started yet) serving the files of {@code root}, its own files in {@code dir}. */
    public static Nginx serving(Path dir, Path root) throws IOException {
        Tools.require("nginx");
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve("access.log"));          // a test's earlier run left its own
        return new Nginx(dir, root, Tools.freePort());
    }

    /** HTTPS (with HTTP/2) with this certificate and key. */
    public Nginx tls(Path certificate, Path key) {
        this.certificate = certificate;
        this.key = key;
        return this;
    }

    /** Basic authentication against this htpasswd file. */
    public Nginx basicAuth(Path htpasswd) {
        this.htpasswd = htpasswd;
        return this;
    }

    public int port() {
        return port;
    }

    /** The URL of a file under the root. */
    public String url(String file) {
        return (certificate != null ? "https" : "http") + "://127.0.0.1:" + port + "/" + file;
    }

    public Path accessLog() {
        return dir.resolve("access.log");
    }

    /** The access log's lines so far. */
    public List<String> requests() throws IOException {
        return Files.exists(accessLog()) ? Files.readAllLines(accessLog()) : List.of();
    }

    public Nginx start() throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("tmp"));
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, config());
        Path errors = dir.resolve("error.log");
        process = new ProcessBuilder("/usr/sbin/nginx", "-c", conf.toString(), "-p", dir.toString(), "-e", errors.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("nginx.out").toFile()).start();
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("nginx exited with " + process.exitValue() + ": " + Files.readString(dir.resolve("nginx.out"))
                        + (Files.exists(errors) ? Files.readString(errors) : ""));
            }
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                return this;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("nginx did not listen on " + port + " within 30 s");
    }

    private String config() {
        StringBuilder c = new StringBuilder();
        c.append("daemon off;\nmaster_process off;\nworker_processes 1;\n")
                .append("pid ").append(dir.resolve("nginx.pid")).append(";\n")
                .append("error_log ").append(dir.resolve("error.log")).append(" warn;\n")
                .append("events { worker_connections 4096; }\n")
                .append("http {\n")
                .append("  log_format ranges '$request_method \"$http_range\" $status $body_bytes_sent $server_protocol "
                        + "\"$http_x_token\" \"$http_cookie\"';\n")
                .append("  access_log ").append(accessLog()).append(" ranges;\n")
                .append("  keepalive_requests 100000;\n");
        for (String t : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
            c.append("  ").append(t).append("_temp_path ").append(dir.resolve("tmp")).append(";\n");
        }
        c.append("  server {\n    listen 127.0.0.1:").append(port);
        if (certificate != null) {
            c.append(" ssl http2;\n    ssl_certificate ").append(certificate).append(";\n    ssl_certificate_key ").append(key).append(";\n");
        } else {
            c.append(";\n");
        }
        c.append("    root ").append(root).append(";\n");
        if (htpasswd != null) {
            c.append("    auth_basic \"disk\";\n    auth_basic_user_file ").append(htpasswd).append(";\n");
        }
        return c.append("  }\n}\n").toString();
    }

    /** SIGKILL, as a crashed server: open connections are reset, nothing is flushed. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("nginx did not die of SIGKILL");
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    /**
     * A self-signed certificate and its key in {@code dir} (openssl), for {@code names} (DNS names
     * or IP addresses); returns {certificate, key}.
     */
    public static Path[] selfSignedCertificate(Path dir, String... names) throws IOException, InterruptedException {
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        List<String> san = new ArrayList<>();
        for (String n : names) {
            san.add((n.matches("[0-9.]+") ? "IP:" : "DNS:") + n);
        }
        Tools.run(Duration.ofSeconds(120), "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-subj", "/CN=" + names[0], "-addext", "subjectAltName=" + String.join(",", san),
                "-keyout", key.toString(), "-out", cert.toString()).ok();
        return new Path[] {cert, key};
    }

    /** An htpasswd line for nginx's auth_basic (openssl's apr1 hash). */
    public static String htpasswd(String user, String password) throws IOException, InterruptedException {
        return user + ":" + Tools.run(Duration.ofSeconds(60), "openssl", "passwd", "-apr1", password).ok().out().trim() + "\n";
    }
}
