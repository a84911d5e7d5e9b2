package org.nbdosgi.plugin.s3;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.CallLatency;
import org.nbdosgi.api.MetricSink;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.client.config.SdkAdvancedAsyncClientOption;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.retries.api.RetryStrategy;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The bucket, through the AWS SDK's asynchronous S3 client on its Netty HTTP client: every call
 * returns at once with a future, so a request thread can have many calls in flight and wait for
 * them together. One per export; thread-safe. Failures are {@link IOException}s naming the call
 * and the object; the first failure after a success, and the first success after failures, are
 * logged once, so a store that goes away and comes back is two lines, not one per request. Not
 * final only so that a test can make a store whose listing misses keys.
 */
class ObjectStore implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ObjectStore.class);

    /** What a ranged GET found. */
    record Got(boolean found, long received) {
    }

    /**
     * The SDK's standard retries, with more attempts and no circuit breaker: its Netty client closes a
     * pooled connection when a GET of a missing object answers 404 (as sparse reads and writes into
     * new objects do), which can fail the request that took that connection next; a retry on another
     * connection succeeds. A store that is really gone still fails a request within seconds.
     */
    private static final RetryStrategy RETRIES = AwsRetryStrategy.configure(StandardRetryStrategy.builder())
            .maxAttempts(6).circuitBreakerEnabled(false).build();

    /**
     * Attempts of one call that fails in the client itself (no HTTP status): the SDK's retries skip
     * some of those, e.g. its Netty client's race on a reused pooled connection
     * ("Duplicate handler name", aws/aws-sdk-java-v2#1903).
     */
    static final int CALL_ATTEMPTS = 3;
    private static final long RETRY_DELAY_MILLIS = 50;

    private final S3AsyncClient s3;
    private final AwsCredentialsProvider credentials;
    private final String bucket;
    private final String what;                    // for log lines: s3://bucket/key
    private final AtomicLong failures = new AtomicLong();
    /** The kinds of call, as log lines and the metrics' op label name them. */
    private static final String[] CALLS = {"GET", "PUT", "DELETE", "LIST", "HEAD"};
    private static final int GET = 0;
    private static final int PUT = 1;
    private static final int DELETE = 2;
    private static final int LIST = 3;
    private static final int HEAD = 4;
    /** Upstream latency and failures per kind of call, for the metrics. */
    private final CallLatency calls = new CallLatency(Arrays.stream(CALLS).map(c -> c.toLowerCase(Locale.ROOT)).toArray(String[]::new));
    private volatile boolean batchDeletes = true;

    private final EventLoopGroup eventLoops;

    /** @param name names the client's threads, e.g. the export's name */
    ObjectStore(S3Settings settings, String name) {
        this(settings, name, UnaryOperator.identity());
    }

    /** @param client wraps the SDK's client: a test's way to make calls fail */
    ObjectStore(S3Settings settings, String name, UnaryOperator<S3AsyncClient> client) {
        this.bucket = settings.bucket();
        this.what = settings.where();
        // Our own event loops rather than the SDK's: they stop at once on close (the SDK's wait for two
        // quiet seconds, which a hot swap would add to the clients' pause), and their threads say whose they are.
        AtomicInteger n = new AtomicInteger();
        this.eventLoops = new NioEventLoopGroup(Runtime.getRuntime().availableProcessors(), (Runnable r) -> {
            Thread t = new Thread(r, "s3-" + name + "-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.credentials = credentials(settings);
        this.s3 = client.apply(build(settings, eventLoops, credentials));
    }

    private static S3AsyncClient build(S3Settings settings, EventLoopGroup eventLoops, AwsCredentialsProvider credentials) {
        // The SDK finds its S3 interceptors through the context class loader: make it this bundle's.
        Thread t = Thread.currentThread();
        ClassLoader previous = t.getContextClassLoader();
        t.setContextClassLoader(ObjectStore.class.getClassLoader());
        try {
            var b = S3AsyncClient.builder()
                    .region(Region.of(settings.region()))
                    .credentialsProvider(credentials)
                    .forcePathStyle(settings.pathStyle())
                    // no "Expect: 100-continue" before each PUT: it costs a round trip, and some stores mishandle it
                    .serviceConfiguration(c -> c.expectContinueEnabled(false))
                    // checksums only where S3 requires them: many S3-compatible stores refuse the trailers
                    .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                    .httpClientBuilder(NettyNioAsyncHttpClient.builder()
                            .eventLoopGroup(SdkEventLoopGroup.create(eventLoops))
                            .maxConcurrency(settings.connections())
                            .tcpKeepAlive(true))
                    .overrideConfiguration(o -> o.apiCallTimeout(settings.timeout()).retryStrategy(RETRIES))
                    // completions only wake the waiting request thread: no need for the SDK's own pool
                    .asyncConfiguration(a -> a.advancedOption(SdkAdvancedAsyncClientOption.FUTURE_COMPLETION_EXECUTOR, Runnable::run));
            if (settings.endpoint() != null) {
                b.endpointOverride(settings.endpoint());
            }
            return b.build();
        } finally {
            t.setContextClassLoader(previous);
        }
    }

    private static AwsCredentialsProvider credentials(S3Settings s) {
        if (s.accessKey() == null) {
            return DefaultCredentialsProvider.builder().build();
        }
        return StaticCredentialsProvider.create(s.sessionToken() == null
                ? AwsBasicCredentials.create(s.accessKey(), s.secretKey().value())
                : AwsSessionCredentials.create(s.accessKey(), s.secretKey().value(), s.sessionToken().value()));
    }

    /**
     * Reads {@code into.remaining()} bytes of object {@code key} from {@code from} into the sink's
     * buffer. A missing object is not an error ({@code found} false); nor is a range past the
     * object's end (fewer bytes {@code received}): the caller fills the rest with zeros.
     */
    CompletableFuture<Got> get(String key, long from, Sink sink) {
        String range = "bytes=" + from + "-" + (from + sink.length() - 1);
        return watch(GET, key, () -> s3.getObject(r -> r.bucket(bucket).key(key).range(range), new Receiver(sink))
                .thenApply(n -> new Got(true, n))
                .exceptionallyCompose(e -> status(e) == 404 || status(e) == 416
                        ? CompletableFuture.completedFuture(new Got(status(e) == 416, 0))
                        : CompletableFuture.failedFuture(e)));
    }

    /** Stores {@code body} (read from position to limit) as object {@code key}. */
    CompletableFuture<Void> put(String key, AsyncRequestBody body, long length) {
        return watch(PUT, key, () -> s3.putObject(r -> r.bucket(bucket).key(key).contentLength(length), body).thenApply(r -> null));
    }

    /**
     * Creates object {@code key} unless it exists; false when it did. A store without conditional
     * writes (501) gets a plain PUT: then two processes creating one disk at once both win.
     */
    CompletableFuture<Boolean> create(String key, byte[] body) {
        return watch(PUT, key, () -> s3.putObject(r -> r.bucket(bucket).key(key).ifNoneMatch("*"), AsyncRequestBody.fromBytes(body))
                .thenApply(r -> true)
                .exceptionallyCompose(e -> switch (status(e)) {
                    case 412 -> CompletableFuture.completedFuture(false);
                    case 501 -> s3.putObject(r -> r.bucket(bucket).key(key), AsyncRequestBody.fromBytes(body)).thenApply(r -> true);
                    default -> CompletableFuture.failedFuture(e);
                }));
    }

    /** Deletes object {@code key}; deleting a missing object succeeds. */
    CompletableFuture<Void> delete(String key) {
        return watch(DELETE, key, () -> s3.deleteObject(r -> r.bucket(bucket).key(key)).thenApply(r -> null));
    }

    /**
     * Deletes up to 1000 objects, in one request where the store implements that (S3 does; S3Proxy
     * and some other stores answer 501), else one request per object, all at once.
     */
    CompletableFuture<Void> deleteAll(List<String> keys) {
        if (!batchDeletes) {
            return CompletableFuture.allOf(keys.stream().map(this::delete).toArray(CompletableFuture[]::new));
        }
        Delete delete = Delete.builder().quiet(true).objects(keys.stream().map(k -> ObjectIdentifier.builder().key(k).build()).toList()).build();
        return watch(DELETE, keys.getFirst() + ".." + keys.getLast(), () -> s3.deleteObjects(r -> r.bucket(bucket).delete(delete))
                .thenCompose(ObjectStore::checkDeleted).exceptionallyCompose(e -> {
            if (status(e) != 501) {
                return CompletableFuture.failedFuture(e);
            }
            LOG.debug("{}: the store does not delete objects in batches: one request per object from now on", what);
            batchDeletes = false;
            return deleteAll(keys);
        }));
    }

    private static CompletableFuture<Void> checkDeleted(DeleteObjectsResponse r) {
        if (r.hasErrors() && !r.errors().isEmpty()) {
            var e = r.errors().getFirst();
            return CompletableFuture.failedFuture(new FinalFailure(r.errors().size() + " objects not deleted, the first "
                    + e.key() + ": " + e.code() + " " + e.message(), null));
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Up to {@code max} keys under {@code prefix} after {@code startAfter} (null: from the first), in order. */
    CompletableFuture<ListObjectsV2Response> list(String prefix, String startAfter, int max) {
        return watch(LIST, prefix, () -> s3.listObjectsV2(r -> r.bucket(bucket).prefix(prefix).startAfter(startAfter).maxKeys(max)));
    }

    /** The size of object {@code key}, or -1 when there is none. */
    CompletableFuture<Long> size(String key) {
        return watch(HEAD, key, () -> s3.headObject(r -> r.bucket(bucket).key(key)).thenApply(r -> r.contentLength())
                .exceptionallyCompose(e -> status(e) == 404 ? CompletableFuture.completedFuture(-1L) : CompletableFuture.failedFuture(e)));
    }

    static List<String> keys(ListObjectsV2Response page) {
        return page.contents().stream().map(S3Object::key).toList();
    }

    /** Waits for a call on the request's (virtual) thread; its failure becomes an IOException. */
    static <T> T await(CompletableFuture<T> call) throws IOException {
        try {
            return call.get();
        } catch (ExecutionException e) {
            throw asIo(e.getCause());
        } catch (InterruptedException e) {
            call.cancel(false);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the store");
        }
    }

    /** As {@link #await} for the control plane, where a failure refuses the export in one line. */
    static <T> T awaitConfig(CompletableFuture<T> call) throws ConfigException {
        try {
            return await(call);
        } catch (IOException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    private static IOException asIo(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return c instanceof IOException io ? io : new IOException(c.getMessage(), c);
    }

    /** Makes a call, retrying it where it failed in the client (see {@link #CALL_ATTEMPTS}), and logs how it ended. */
    private <T> CompletableFuture<T> watch(int call, String key, Supplier<CompletableFuture<T>> attempt) {
        long start = System.nanoTime();
        return retried(call, key, attempt, 1).handle((v, e) -> {
            calls.record(call, start, e != null);
            if (e == null) {
                long failed = failures.getAndSet(0);
                if (failed > 0) {
                    LOG.warn("{}: the store answers again ({} requests to it failed)", what, failed);
                }
                return CompletableFuture.completedFuture(v);
            }
            String message = CALLS[call] + " s3://" + bucket + "/" + key + ": " + reason(e);
            if (failures.getAndIncrement() == 0) {
                LOG.warn("{}: {}; requests fail until the store answers again", what, message);
            }
            return CompletableFuture.<T>failedFuture(new FinalFailure(message, unwrap(e)));
        }).thenCompose(x -> x);
    }

    // Whole-object GET, PUT and DELETE (and HEAD, LIST) are idempotent: repeating one the client failed is safe.
    private <T> CompletableFuture<T> retried(int call, String key, Supplier<CompletableFuture<T>> attempt, int n) {
        return attempt.get().handle((v, e) -> {
            if (e == null || n >= CALL_ATTEMPTS || !failedInClient(e)) {
                return e == null ? CompletableFuture.completedFuture(v) : CompletableFuture.<T>failedFuture(e);
            }
            LOG.debug("{}: {} {} failed in the client, attempt {} of {}: {}", what, CALLS[call], key, n, CALL_ATTEMPTS, reason(e));
            return CompletableFuture.supplyAsync(() -> retried(call, key, attempt, n + 1),
                    CompletableFuture.delayedExecutor(RETRY_DELAY_MILLIS * n, TimeUnit.MILLISECONDS)).thenCompose(x -> x);
        }).thenCompose(x -> x);
    }

    /**
     * A failure without an answer from the store (a closed connection, the client's own machinery),
     * other than the call's timeout running out, a cancelled call or a final failure.
     */
    private static boolean failedInClient(Throwable e) {
        Throwable c = unwrap(e);
        return !(c instanceof SdkServiceException || c instanceof ApiCallTimeoutException
                || c instanceof CancellationException || c instanceof FinalFailure);
    }

    /** A failure not to retry: the store's own answer, or a call already given up on. */
    private static final class FinalFailure extends IOException {
        FinalFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** How long the store took to answer each kind of call, and how many failed. Any thread. */
    void metrics(MetricSink sink) {
        calls.report(sink);
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    private static int status(Throwable e) {
        return unwrap(e) instanceof SdkServiceException s ? s.statusCode() : -1;
    }

    /** One line: the service's error code and message, or the client-side cause (refused, timed out). */
    private static String reason(Throwable e) {
        Throwable c = unwrap(e);
        if (c instanceof SdkServiceException s) {
            String code = s instanceof software.amazon.awssdk.awscore.exception.AwsServiceException a && a.awsErrorDetails() != null
                    ? a.awsErrorDetails().errorCode() : null;
            return "HTTP " + s.statusCode() + (code != null ? " " + code : "");
        }
        Throwable root = c;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return c instanceof SdkException && root != c ? c.getClass().getSimpleName() + ": " + m : m;
    }

    @Override
    public void close() {
        s3.close();
        if (credentials instanceof AutoCloseable c) {                  // the SDK closes only what it made itself
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("{}: closing the credentials provider: {}", what, e.toString());
            }
        }
        eventLoops.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    }

    /**
     * Where the bytes of one GET land: a slice of the request's buffer. Once the request has
     * stopped waiting ({@link #close}), late bytes of a timed-out call are dropped, so they never
     * reach a buffer the engine has reused. A retried call starts over ({@link #restart}).
     */
    static final class Sink {
        private final ByteBuffer target;
        private int attempt;
        private int written;
        private boolean closed;

        Sink(ByteBuffer target) {
            this.target = target;
        }

        int length() {
            return target.remaining();
        }

        synchronized int restart() {
            written = 0;
            return ++attempt;
        }

        synchronized void put(int fromAttempt, ByteBuffer bytes) throws IOException {
            if (closed || fromAttempt != attempt) {
                return;
            }
            int n = bytes.remaining();
            if (n > target.remaining() - written) {
                throw new IOException("the store sent more bytes than were asked for");
            }
            target.put(target.position() + written, bytes, bytes.position(), n);
            written += n;
        }

        synchronized void close() {
            closed = true;
        }
    }

    /** Streams one GET's body into its {@link Sink}; the result is the number of bytes received. */
    private static final class Receiver implements AsyncResponseTransformer<GetObjectResponse, Long> {
        private final Sink sink;
        private volatile CompletableFuture<Long> result;
        private volatile int attempt;

        Receiver(Sink sink) {
            this.sink = sink;
        }

        @Override
        public CompletableFuture<Long> prepare() {
            attempt = sink.restart();
            result = new CompletableFuture<>();
            return result;
        }

        @Override
        public void onResponse(GetObjectResponse response) {
        }

        @Override
        public void onStream(SdkPublisher<ByteBuffer> body) {
            CompletableFuture<Long> done = result;
            int mine = attempt;
            body.subscribe(new Subscriber<>() {
                private long received;
                private Subscription subscription;

                @Override
                public void onSubscribe(Subscription s) {
                    subscription = s;
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(ByteBuffer bytes) {
                    try {
                        received += bytes.remaining();
                        sink.put(mine, bytes);
                    } catch (IOException e) {
                        subscription.cancel();
                        done.completeExceptionally(e);
                    }
                }

                @Override
                public void onError(Throwable t) {
                    done.completeExceptionally(t);
                }

                @Override
                public void onComplete() {
                    done.complete(received);
                }
            });
        }

        @Override
        public void exceptionOccurred(Throwable error) {
            CompletableFuture<Long> done = result;
            if (done != null) {
                done.completeExceptionally(error);
            }
        }
    }
}
