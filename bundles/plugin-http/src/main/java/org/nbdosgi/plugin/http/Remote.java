package org.nbdosgi.plugin.http;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.BodySubscribers;
import java.net.http.HttpResponse.ResponseInfo;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.nbdosgi.api.CallLatency;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One export's connection to the web server: a JDK {@link HttpClient} (its keep-alive pool for
 * HTTP/1.1, one multiplexed connection for HTTP/2, one selector thread), the request headers every
 * read carries, and the size of the file, asked once when the export starts.
 *
 * <p>Data plane: {@link #read} is called by many request threads at once; each sends one ranged
 * GET and parks its virtual thread until the body has been copied, as it arrives, straight into the
 * request's buffer (the JDK's own buffers are the only ones in between). At most
 * {@code connections} requests are at the server at once; more wait for a slot (parked, no thread
 * held). Control plane: {@link #connect} and {@link #close}.
 */
final class Remote implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Remote.class);
    private static final int GET = 0;
    private static final Pattern CONTENT_RANGE = Pattern.compile("\\s*bytes\\s+(?:(\\d+)-(\\d+)|\\*)/(\\d+|\\*)\\s*");

    private final HttpSettings settings;
    private final String where;
    private final HttpClient client;
    private final HttpRequest.Builder template;
    /** How long the server takes to answer a read's ranged GET (its whole body), and how many fail. */
    private final CallLatency calls = new CallLatency("get");
    private final Semaphore slots;
    private long size;

    private Remote(HttpSettings settings) throws ConfigException {
        this.settings = settings;
        this.where = HttpSettings.redact(settings.url());
        HttpClient.Builder b = HttpClient.newBuilder()
                .version(settings.version())
                .followRedirects(settings.followRedirects() ? HttpClient.Redirect.NORMAL : HttpClient.Redirect.NEVER)
                .sslContext(Tls.context(settings.sslVerify(), settings.caFile(), settings.caDir()))
                // the client's callbacks run where they arise, mostly on its selector thread, instead of being
                // handed to other threads: they only parse, copy a body into a buffer and wake the waiting
                // request, none blocks, and the hand-offs cost more CPU than the work (about a third per request)
                .executor(Runnable::run);
        if (settings.timeout() != null) {
            b.connectTimeout(settings.timeout());
        }
        this.client = b.build();
        this.template = HttpRequest.newBuilder(settings.url());
        if (settings.timeout() != null) {
            template.timeout(settings.timeout());
        }
        for (String[] h : settings.headers()) {
            template.header(h[0], h[1]);
        }
        if (settings.cookie() != null) {
            template.header("Cookie", settings.cookie().reveal());
        }
        if (settings.user() != null) {
            // sent with the first request, as curl does (no 401 round trip); the JDK drops it on a redirect to another origin
            String pair = settings.user() + ":" + (settings.password() == null ? "" : settings.password().reveal());
            template.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
        }
        this.slots = new Semaphore(settings.connections());
    }

    /** Opens the client and asks the server for the file's size; every failure is one line. Control plane. */
    static Remote connect(HttpSettings settings) throws ConfigException {
        Remote r = new Remote(settings);
        try {
            r.size = r.probeSize();
            LOG.debug("http: {}: {} bytes, {}", r.where, r.size, settings);
            return r;
        } catch (ConfigException e) {
            r.close();
            throw e;
        } catch (InterruptedException e) {
            r.close();
            Thread.currentThread().interrupt();
            throw new ConfigException("url: interrupted while asking " + r.where + " for its size");
        }
    }

    /** The server's latency for reads ({@code nbd_http_request_seconds{op="get"}}). Any thread. */
    void metrics(MetricSink sink) {
        calls.report(sink);
    }

    long size() {
        return size;
    }

    String where() {
        return where;
    }

    /**
     * The size from HEAD when the server says it serves byte ranges; else (HEAD forbidden, as for
     * an S3 presigned GET URL, or no Accept-Ranges) from the Content-Range of a one-byte ranged GET,
     * which also shows whether the server honours Range at all.
     */
    private long probeSize() throws ConfigException, InterruptedException {
        try {
            HttpResponse<Void> head = client.send(template.copy().method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
            HttpHeaders h = head.headers();
            if (head.statusCode() / 100 == 2 && h.firstValueAsLong("Content-Length").isPresent()
                    && h.allValues("Accept-Ranges").stream().anyMatch(v -> v.toLowerCase(java.util.Locale.ROOT).contains("bytes"))) {
                return h.firstValueAsLong("Content-Length").getAsLong();
            }
            LOG.debug("http: {}: HEAD answered {} without a size and Accept-Ranges: bytes; asking with a ranged GET",
                    where, head.statusCode());
            HttpResponse<Void> get = client.send(template.copy().header("Range", "bytes=0-0").build(),
                    info -> info.statusCode() == 206 || info.statusCode() == 416 ? BodySubscribers.discarding() : new Skip(null));
            int status = get.statusCode();
            if (status == 200) {
                throw new ConfigException("url: " + where + " ignores Range requests (a ranged GET was answered with the whole "
                        + "file), so it cannot serve a disk");
            }
            if (status != 206 && status != 416) {
                throw new ConfigException("url: " + where + ": the server answered " + statusText(status));
            }
            String range = get.headers().firstValue("Content-Range").orElse("");
            Matcher m = CONTENT_RANGE.matcher(range);
            if (!m.matches() || m.group(3).equals("*")) {
                throw new ConfigException("url: " + where + ": the server answered a ranged GET without the file's size"
                        + " (Content-Range: '" + range + "')");
            }
            return Long.parseLong(m.group(3));
        } catch (IOException e) {
            throw new ConfigException("url: " + where + ": " + describe(e));
        }
    }

    /**
     * Fills {@code buf} (position to limit, which stay as they are) with the file's bytes at
     * {@code offset}. Data plane; EIO with the reason for anything but the exact bytes asked for.
     */
    void read(ByteBuffer buf, long offset) throws IOException {
        int length = buf.remaining();
        if (length == 0) {
            return;
        }
        String range = offset + "-" + (offset + length - 1);
        HttpRequest request = template.copy().header("Range", "bytes=" + range).build();
        try {
            slots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for a connection to " + where);
        }
        Fill fill = new Fill(buf.duplicate());
        boolean complete = false;
        long start = System.nanoTime();
        try {
            client.send(request, info -> body(info, fill, offset, length));
            complete = true;
            calls.record(GET, start, false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted reading " + where);
        } catch (IOException e) {
            calls.record(GET, start, true);
            throw new NbdException(NbdError.EIO, "http: GET " + where + " bytes " + range + ": " + describe(e), e);
        } finally {
            if (!complete) {
                fill.abandon();             // the buffer goes back to the engine: no late chunk may land in it
            }
            slots.release();
        }
    }

    /** What to do with a read's response, decided from its status and headers. */
    private static BodySubscriber<Void> body(ResponseInfo info, Fill fill, long offset, int length) {
        int status = info.statusCode();
        if (status == 200) {
            return new Skip(new IOException("the server ignored Range and sent the whole file"));
        }
        if (status != 206) {
            return new Skip(new IOException("the server answered " + statusText(status)));
        }
        String range = info.headers().firstValue("Content-Range").orElse("");
        Matcher m = CONTENT_RANGE.matcher(range);
        if (!m.matches() || m.group(1) == null || Long.parseLong(m.group(1)) != offset
                || Long.parseLong(m.group(2)) != offset + length - 1) {
            return new Skip(new IOException("the server sent other bytes than asked for (Content-Range: '" + range + "')"));
        }
        return fill;
    }

    private static String statusText(int status) {
        return status + switch (status) {
            case 401 -> " (unauthorized: check user and password)";
            case 403 -> " (forbidden)";
            case 404 -> " (not found)";
            case 407 -> " (proxy authentication required)";
            case 416 -> " (range not satisfiable)";
            case 429 -> " (too many requests)";
            case 500 -> " (internal server error)";
            case 502 -> " (bad gateway)";
            case 503 -> " (service unavailable)";
            case 504 -> " (gateway timeout)";
            default -> "";
        };
    }

    /** One line about a failed exchange, without the JDK's exception class names where they say nothing. */
    private String describe(IOException e) {
        if (e instanceof HttpTimeoutException) {
            return "no answer within " + settings.timeout().toMillis() + " ms (timeout=)";
        }
        if (e instanceof ConnectException || e.getCause() instanceof ConnectException) {
            String why = e.getMessage() == null && e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
            return "cannot connect to " + settings.url().getHost() + ":" + port() + (why == null ? "" : " (" + why + ")");
        }
        if (e instanceof javax.net.ssl.SSLException || e.getCause() instanceof javax.net.ssl.SSLException) {
            return "TLS: " + e.getMessage() + " (sslverify=false, cainfo= or capath= decide which certificates are trusted)";
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private int port() {
        URI u = settings.url();
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equals("https") ? 443 : 80;
    }

    /** Control plane (export stop, no request left): closes the pooled connections and the client's selector thread. */
    @Override
    public void close() {
        client.shutdownNow();
        try {
            if (!client.awaitTermination(java.time.Duration.ofSeconds(5))) {
                LOG.warn("http: {}: the HTTP client did not stop within 5 s", where);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Copies a 206 body into the request's buffer as it arrives; anything but exactly the bytes
     * asked for fails. Once {@link #abandon abandoned} (the read gave up, its buffer is the
     * engine's again) nothing more is copied.
     */
    private static final class Fill implements BodySubscriber<Void> {
        private final ByteBuffer target;
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private Flow.Subscription subscription;
        private boolean abandoned;                              // guarded by this

        Fill(ByteBuffer target) {
            this.target = target;
        }

        @Override
        public CompletionStage<Void> getBody() {
            return done;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        synchronized void abandon() {
            abandoned = true;
        }

        @Override
        public synchronized void onNext(List<ByteBuffer> items) {
            if (abandoned || done.isDone()) {
                return;
            }
            for (ByteBuffer b : items) {
                if (b.remaining() > target.remaining()) {
                    subscription.cancel();
                    done.completeExceptionally(new IOException("the server sent more bytes than asked for"));
                    return;
                }
                target.put(b);
            }
        }

        @Override
        public void onError(Throwable t) {
            done.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            if (target.hasRemaining()) {
                done.completeExceptionally(new IOException("the body ended " + target.remaining() + " bytes short"));
            } else {
                done.complete(null);
            }
        }
    }

    /**
     * A body not to read (a whole file sent for a range is not downloaded): the subscription is
     * cancelled at once, which closes an HTTP/1.1 connection, and the exchange ends with
     * {@code failure}, or normally when it is null (the caller looks at the status).
     */
    private static final class Skip implements BodySubscriber<Void> {
        private final CompletableFuture<Void> done = new CompletableFuture<>();
        private final IOException failure;

        Skip(IOException failure) {
            this.failure = failure;
        }

        @Override
        public CompletionStage<Void> getBody() {
            return done;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.cancel();
            end();
        }

        @Override
        public void onNext(List<ByteBuffer> items) {
        }

        @Override
        public void onError(Throwable t) {
            end();
        }

        @Override
        public void onComplete() {
            end();
        }

        private void end() {
            if (failure == null) {
                done.complete(null);
            } else {
                done.completeExceptionally(failure);
            }
        }
    }
}
