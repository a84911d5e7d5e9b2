package org.nbdosgi.plugin.http;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A small web server on loopback for the misbehaviours real servers are not configured to show:
 * one that forbids HEAD (as an S3 presigned GET URL does), one that ignores Range, one that claims
 * byte ranges and then ignores them; and, for the unit tests, one that records what it was sent,
 * counts requests in flight, delays its answers and asks for Basic authentication. Serves one file
 * at {@code /disk.img}. Shared with the interop tests (this module's test jar).
 */
public final class RangeServer implements AutoCloseable {
    /** How the server misbehaves. */
    public enum Quirk {
        /** A well-behaved server. */
        NONE,
        /** HEAD is answered 403, GET works (an S3 presigned URL). */
        FORBIDS_HEAD,
        /** No Accept-Ranges; a ranged GET gets 200 and the whole file. */
        IGNORES_RANGE,
        /** HEAD says Accept-Ranges: bytes, but a ranged GET gets 200 and the whole file. */
        CLAIMS_RANGES_BUT_IGNORES_THEM
    }

    /** One request as received: method, Range header (or null) and every header. */
    public record Request(String method, String range, Map<String, List<String>> headers) {
    }

    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-(\\d+)");

    private final byte[] content;
    private final Quirk quirk;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger mostInFlight = new AtomicInteger();
    private volatile Duration delay = Duration.ZERO;
    private volatile String basicAuth;

    private RangeServer(byte[] content, Quirk quirk, int port) throws IOException {
        this.content = content;
        this.quirk = quirk;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 256);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** Serves {@code content} at {@code /disk.img} on a free loopback port. */
    public static RangeServer start(byte[] content, Quirk quirk) throws IOException {
        return new RangeServer(content, quirk, 0);
    }

    /** Serves on a given port (a restarted server takes its old port again). */
    public static RangeServer start(byte[] content, Quirk quirk, int port) throws IOException {
        return new RangeServer(content, quirk, port);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + port() + "/disk.img");
    }

    /** Answers every request this much later. */
    public RangeServer delay(Duration d) {
        delay = d;
        return this;
    }

    /** Asks for these credentials (401 with a Basic challenge otherwise). */
    public RangeServer requireBasic(String user, String password) {
        basicAuth = "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        return this;
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** The most requests that were being answered at the same time. */
    public int mostInFlight() {
        return mostInFlight.get();
    }

    private void handle(HttpExchange x) throws IOException {
        int now = inFlight.incrementAndGet();
        mostInFlight.accumulateAndGet(now, Math::max);
        try (x) {
            String range = x.getRequestHeaders().getFirst("Range");
            requests.add(new Request(x.getRequestMethod(), range, Map.copyOf(x.getRequestHeaders())));
            if (!delay.isZero()) {
                Thread.sleep(delay);
            }
            if (basicAuth != null && !basicAuth.equals(x.getRequestHeaders().getFirst("Authorization"))) {
                x.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"disk\"");
                x.sendResponseHeaders(401, -1);
                return;
            }
            if (!x.getRequestURI().getPath().equals("/disk.img")) {
                x.sendResponseHeaders(404, -1);
                return;
            }
            boolean head = x.getRequestMethod().equals("HEAD");
            if (head) {
                if (quirk == Quirk.FORBIDS_HEAD) {
                    x.sendResponseHeaders(403, -1);
                    return;
                }
                if (quirk != Quirk.IGNORES_RANGE) {
                    x.getResponseHeaders().set("Accept-Ranges", "bytes");
                }
                x.getResponseHeaders().set("Content-Length", Integer.toString(content.length));
                x.sendResponseHeaders(200, -1);
                return;
            }
            Matcher m = range == null ? null : RANGE.matcher(range);
            if (m == null || !m.matches() || quirk == Quirk.IGNORES_RANGE || quirk == Quirk.CLAIMS_RANGES_BUT_IGNORES_THEM) {
                x.sendResponseHeaders(200, content.length);
                try (OutputStream out = x.getResponseBody()) {
                    out.write(content);
                }
                return;
            }
            int from = Integer.parseInt(m.group(1));
            int to = Math.min(Integer.parseInt(m.group(2)), content.length - 1);
            if (from >= content.length) {
                x.getResponseHeaders().set("Content-Range", "bytes */" + content.length);
                x.sendResponseHeaders(416, -1);
                return;
            }
            x.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + content.length);
            x.sendResponseHeaders(206, to - from + 1);
            try (OutputStream out = x.getResponseBody()) {
                out.write(content, from, to - from + 1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away mid-answer: nothing to tell it
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** Stops at once: open connections are closed, as when a server is killed. */
    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
