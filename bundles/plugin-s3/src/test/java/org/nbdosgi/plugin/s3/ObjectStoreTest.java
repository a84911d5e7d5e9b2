package org.nbdosgi.plugin.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.Handle;

import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * How the store's calls fail: the SDK's client against a real S3Proxy, with failures injected
 * into chosen calls deterministically (a stopped store is too slow and too vague for this).
 */
class ObjectStoreTest {
    private static final int OBJECT = 64 * 1024;
    private static final ClientContext CLIENT = new ClientContext("", false, "test", 1);
    /** What the SDK's Netty client throws when it races on a reused pooled connection. */
    private static final IntFunction<Throwable> NETTY_RACE = n -> SdkClientException.create("Unable to execute HTTP request",
            new IllegalArgumentException("Duplicate handler name: HttpStreamsClientHandler-body-subscriber"));

    @TempDir
    static Path dir;
    private static S3ProxyProcess store;
    private static final AtomicInteger BUCKETS = new AtomicInteger();
    private S3Disk disk;

    /** Per call name (putObject, deleteObject...): how many times it was made, and which attempts fail how. */
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final Map<String, IntFunction<Throwable>> failures = new ConcurrentHashMap<>();

    @BeforeAll
    static void startStore() throws Exception {
        store = S3ProxyProcess.start(dir);
    }

    @AfterAll
    static void stopStore() throws Exception {
        if (store != null) {
            store.close();
        }
    }

    @AfterEach
    void closeDisk() {
        if (disk != null) {
            disk.close();
        }
    }

    private Handle open() throws Exception {
        S3Settings settings = S3Settings.parse(new Config(Map.of("endpoint", store.endpoint(),
                "bucket", store.bucket("flaky-" + BUCKETS.incrementAndGet()), "key", "disk",
                "access-key", S3ProxyProcess.ACCESS_KEY, "secret-key", S3ProxyProcess.SECRET_KEY, "timeout", "20s")));
        ObjectStore objects = new ObjectStore(settings, "flaky", this::failing);
        disk = new S3Disk(objects, settings, new Geometry(8L * OBJECT, OBJECT, false));
        return disk.open(CLIENT);
    }

    /** The real client, except that a call listed in {@link #failures} fails where its function gives a failure. */
    private S3AsyncClient failing(S3AsyncClient real) {
        return (S3AsyncClient) Proxy.newProxyInstance(S3AsyncClient.class.getClassLoader(), new Class<?>[] {S3AsyncClient.class},
                (proxy, method, args) -> {
                    IntFunction<Throwable> fails = failures.get(method.getName());
                    if (fails != null) {
                        int attempt = calls.computeIfAbsent(method.getName(), k -> new AtomicInteger()).incrementAndGet();
                        Throwable failure = fails.apply(attempt);
                        if (failure != null) {
                            return CompletableFuture.failedFuture(failure);
                        }
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private int made(String call) {
        return calls.getOrDefault(call, new AtomicInteger()).get();
    }

    private static ByteBuffer random(int n) {
        byte[] b = new byte[n];
        new Random(n).nextBytes(b);
        return ByteBuffer.allocateDirect(n).put(b).flip();
    }

    private static byte[] read(Handle h, long offset, int n) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(n);
        h.read(buf, offset, 0);
        byte[] out = new byte[n];
        buf.get(out);
        return out;
    }

    @Test
    void aWriteAndAZeroSucceedWhenTheClientFailsACallOnce() throws Exception {
        Handle h = open();
        failures.put("putObject", n -> n == 1 ? NETTY_RACE.apply(n) : null);
        failures.put("deleteObject", n -> n == 1 ? NETTY_RACE.apply(n) : null);
        failures.put("getObject", n -> n == 1 ? new IOException("Channel was closed before it could be written to.") : null);
        ByteBuffer data = random(2 * OBJECT);
        byte[] expected = new byte[2 * OBJECT];
        data.duplicate().get(expected);

        h.write(data, 0, 0);                                   // two PUTs, the first fails once
        assertEquals(3, made("putObject"), "the failed PUT was made again");
        h.zero(OBJECT, OBJECT, 0);                             // a whole object: one DELETE, failing once
        assertEquals(2, made("deleteObject"), "the failed DELETE was made again");
        java.util.Arrays.fill(expected, OBJECT, 2 * OBJECT, (byte) 0);
        assertArrayEquals(expected, read(h, 0, 2 * OBJECT)); // the first GET fails once
        assertTrue(made("getObject") >= 3, "the failed GET was made again");
    }

    @Test
    void aCallTheClientFailsEveryTimeFailsTheRequestAfterBoundedAttempts() throws Exception {
        Handle h = open();
        failures.put("putObject", NETTY_RACE);
        IOException e = assertThrows(IOException.class, () -> h.write(random(OBJECT), 0, 0));
        assertEquals(ObjectStore.CALL_ATTEMPTS, made("putObject"));
        assertTrue(e.getMessage().contains("Duplicate handler name"), e.getMessage());
        failures.clear();
        h.write(random(OBJECT), 0, 0);                         // and the disk goes on serving
    }

    @Test
    void anHttpErrorFromTheStoreIsNotRetriedAgain() throws Exception {
        Handle h = open();
        failures.put("putObject", n -> S3Exception.builder().statusCode(403).message("Access Denied").build());
        assertThrows(IOException.class, () -> h.write(random(OBJECT), 0, 0));
        assertEquals(1, made("putObject"));
    }
}
