package org.nbdosgi.plugin.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.PluginInstance;

/** The plugin against {@link RangeServer}: sizes, reads, misbehaving servers, credentials, limits. */
class HttpPluginTest {
    private static final byte[] DISK = random(3 << 20, 1);
    private final List<AutoCloseable> open = new ArrayList<>();
    @TempDir
    Path tmp;

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open.reversed()) {
            c.close();
        }
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private RangeServer serve(RangeServer.Quirk quirk) throws IOException {
        RangeServer s = RangeServer.start(DISK, quirk);
        open.add(s);
        return s;
    }

    private PluginInstance lastInstance;

    private Handle open(String... params) throws Exception {
        PluginInstance instance = new HttpPlugin().create(config(params), new ExportContext("", true));
        lastInstance = instance;
        open.add(instance);
        Handle h = instance.open(new ClientContext("", true, "test", 1));
        open.add(h);
        return h;
    }

    private static byte[] read(Handle h, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect(length + 16).position(8).limit(8 + length);
        h.read(b, offset, 0);
        assertEquals(8, b.position(), "position untouched");
        assertEquals(8 + length, b.limit(), "limit untouched");
        byte[] out = new byte[length];
        b.get(8, out);
        return out;
    }

    private static String failure(String... params) {
        return assertThrows(ConfigException.class, () -> HttpSettings.parse(config(params))).getMessage();
    }

    private String startFailure(String... params) {
        return assertThrows(ConfigException.class, () -> open(params)).getMessage();
    }

    @Test
    void sizeFromHeadAndReadsAnywhere() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE);
        Handle h = open("url=" + s.url());
        assertEquals(DISK.length, h.size());
        assertFalse(h.canWrite());
        assertTrue(h.canMultiConn());
        for (int[] r : new int[][] {{0, 1}, {0, 4096}, {12345, 70000}, {DISK.length - 5, 5}, {1 << 20, 2 << 20}}) {
            assertArrayEquals(Arrays.copyOfRange(DISK, r[0], r[0] + r[1]), read(h, r[0], r[1]), r[0] + "+" + r[1]);
        }
        assertEquals("HEAD", s.requests().get(0).method(), "the size came from HEAD");
        assertEquals("bytes=12345-82344", s.requests().get(3).range());
    }

    @Test
    void theServersLatencyAndFailuresArePublished() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE);
        Handle h = open("url=" + s.url());
        s.delay(Duration.ofMillis(50));
        read(h, 0, 4096);
        read(h, 8192, 4096);
        long[] get = getCalls(lastInstance);
        assertEquals(2, get[0], "two GETs timed");
        assertTrue(get[1] >= 100_000_000, "each took the server's 50 ms at least: " + get[1] + " ns in all");
        assertEquals(0, get[2]);

        RangeServer bad = serve(RangeServer.Quirk.CLAIMS_RANGES_BUT_IGNORES_THEM);
        Handle failing = open("url=" + bad.url());
        assertThrows(NbdException.class, () -> read(failing, 4096, 4096));
        long[] failed = getCalls(lastInstance);
        assertEquals(1, failed[0]);
        assertEquals(1, failed[2], "the failed GET is counted");
    }

    /** The instance's GET metrics: count, sum of nanoseconds, failures. */
    private static long[] getCalls(PluginInstance instance) {
        long[] out = new long[3];
        instance.metrics(new MetricSink() {
            @Override
            public void counter(String name, String help, double value, String... labels) {
                assertEquals(List.of("op", "get"), List.of(labels));
                out[2] = (long) value;
            }

            @Override
            public void gauge(String name, String help, double value, String... labels) {
            }

            @Override
            public void latency(String name, String help, LatencyHistogram histogram, String... labels) {
                assertEquals("request_seconds", name);
                out[0] = histogram.count();
                out[1] = histogram.sumNanos();
            }
        });
        return out;
    }

    @Test
    void whereHeadIsForbiddenTheSizeComesFromAOneByteRangedGet() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.FORBIDS_HEAD);
        Handle h = open("url=" + s.url());
        assertEquals(DISK.length, h.size());
        assertEquals(List.of("HEAD", "GET"), s.requests().stream().map(RangeServer.Request::method).toList());
        assertEquals("bytes=0-0", s.requests().get(1).range());
        assertArrayEquals(Arrays.copyOfRange(DISK, 999, 1999), read(h, 999, 1000));
    }

    @Test
    void aServerThatIgnoresRangeIsRefusedInOneLine() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.IGNORES_RANGE);
        assertEquals("url: " + s.url() + " ignores Range requests (a ranged GET was answered with the whole file), "
                + "so it cannot serve a disk", startFailure("url=" + s.url()));
    }

    @Test
    void aServerThatClaimsRangesButIgnoresThemFailsReadsWithEio() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.CLAIMS_RANGES_BUT_IGNORES_THEM);
        Handle h = open("url=" + s.url());
        NbdException e = assertThrows(NbdException.class, () -> read(h, 4096, 4096));
        assertEquals(NbdError.EIO, e.error());
        assertTrue(e.getMessage().contains("the server ignored Range and sent the whole file"), e.getMessage());
        assertTrue(e.getMessage().contains("bytes 4096-8191"), e.getMessage());
    }

    @Test
    void missingFileAndNoServerAreOneLine() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE);
        String missing = s.url().resolve("/nope.img").toString();
        assertEquals("url: " + missing + ": the server answered 404 (not found)", startFailure("url=" + missing));
        int port = s.port();
        s.close();
        String m = startFailure("url=http://127.0.0.1:" + port + "/disk.img");
        assertTrue(m.startsWith("url: http://127.0.0.1:" + port + "/disk.img: cannot connect to 127.0.0.1:" + port), m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void manyReadsAreInFlightAtOnceUpToConnections() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE).delay(Duration.ofMillis(100));
        Handle h = open("url=" + s.url(), "connections=6");
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<byte[]>> reads = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                int off = i * 100_000;
                reads.add(pool.submit(() -> read(h, off, 5000)));
            }
            for (int i = 0; i < reads.size(); i++) {
                assertArrayEquals(Arrays.copyOfRange(DISK, i * 100_000, i * 100_000 + 5000), reads.get(i).get());
            }
        }
        assertEquals(6, s.mostInFlight(), "connections=6: six GETs at the server at once, never more");
    }

    @Test
    void headersCookieAndUserAgentGoWithEveryRequest() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE);
        Handle h = open("url=" + s.url(), "header=X-One: 1", "header=X-Two: two words", "header=X-Empty;",
                "cookie=session=s3cr3t", "user-agent=tester/1");
        read(h, 0, 10);
        for (RangeServer.Request r : s.requests()) {
            assertEquals(List.of("1"), r.headers().get("X-one"));
            assertEquals(List.of("two words"), r.headers().get("X-two"));
            assertEquals(List.of(""), r.headers().get("X-empty"));
            assertEquals(List.of("session=s3cr3t"), r.headers().get("Cookie"));
            assertEquals(List.of("tester/1"), r.headers().get("User-agent"));
        }
    }

    @Test
    void basicAuthentication() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE).requireBasic("alice", "pw:with colon");
        Handle h = open("url=" + s.url(), "user=alice", "password=pw:with colon");
        assertArrayEquals(Arrays.copyOfRange(DISK, 0, 100), read(h, 0, 100));

        assertEquals("url: " + s.url() + ": the server answered 401 (unauthorized: check user and password)",
                startFailure("url=" + s.url(), "user=alice", "password=guess"));
        assertEquals("url: " + s.url() + ": the server answered 401 (unauthorized: check user and password)",
                startFailure("url=" + s.url()));
    }

    @Test
    void credentialsInTheUrlAreUsedAndNeverShown() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE).requireBasic("bob", "hunter2");
        Handle h = open("url=http://bob:hunter2@127.0.0.1:" + s.port() + "/disk.img?X-Sig=abc");
        assertArrayEquals(Arrays.copyOfRange(DISK, 5, 10), read(h, 5, 5));
        assertEquals("http://127.0.0.1:" + s.port() + "/disk.img?...", h.description());
    }

    @Test
    void aSlowServerFailsReadsAfterTheTimeout() throws Exception {
        RangeServer s = serve(RangeServer.Quirk.NONE);
        Handle h = open("url=" + s.url(), "timeout=300ms");
        s.delay(Duration.ofSeconds(3));
        long t0 = System.nanoTime();
        NbdException e = assertThrows(NbdException.class, () -> read(h, 0, 512));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(NbdError.EIO, e.error());
        assertTrue(e.getMessage().endsWith("no answer within 300 ms (timeout=)"), e.getMessage());
        assertTrue(ms >= 300 && ms < 2500, "failed after " + ms + " ms");
    }

    @Test
    void theSecretsAreLeftToTheEngine() throws Exception {
        // declared secret: the engine reads -, -FD and +FILE and hides the value (HttpInteropIT: +FILE end to end)
        assertEquals(List.of("cookie", "password"),
                HttpSettings.parameters().stream().filter(Parameter::secret).map(Parameter::name).toList());
        HttpSettings s = HttpSettings.parse(config("url=http://h/d", "user=u", "password=+plain", "cookie=-3"));
        assertEquals("+plain", s.password().reveal(), "what arrives is the value: the layer resolves nothing again");
        assertEquals("-3", s.cookie().reveal());
        assertEquals("(hidden)", s.password().toString());
    }

    @Test
    void badParametersAreOneLine() {
        assertEquals("url: only http:// and https:// URLs are served (got 'ftp:')", failure("url=ftp://h/d.img"));
        assertEquals("url: only http:// and https:// URLs are served (got 'disk.img')", failure("url=disk.img"));
        assertEquals("header: 'X-A' is not 'Name: value'", failure("url=http://h/", "header=X-A"));
        assertEquals("header: 'User-Agent:' has no value (curl's way to drop a header it adds; this plugin adds none: "
                + "for an empty value write 'User-Agent;')", failure("url=http://h/", "header=User-Agent:"));
        assertEquals("header: Range is set by the plugin itself and cannot be given", failure("url=http://h/", "header=Range: bytes=0-1"));
        assertEquals("header: 'X A' is not a header name", failure("url=http://h/", "header=X A: 1"));
        assertEquals("header: the value contains a control character", failure("url=http://h/", "header=X-A: 1\r2"));
        assertEquals("user-agent: the value contains a control character", failure("url=http://h/", "user-agent=a\u0000"));
        assertEquals("connections: 0 is not between 1 and 1024", failure("url=http://h/", "connections=0"));
        assertEquals("http-version: '3' is not 1.1 or 2", failure("url=http://h/", "http-version=3"));
        assertEquals("user: user= and an Authorization header both authenticate: give one of them",
                failure("url=http://h/", "user=u", "header=Authorization: Bearer x"));
        assertEquals("password: a password needs a user (user= or user@ in the URL)", failure("url=http://h/", "password=x"));
        assertEquals("timeout: cannot parse duration 'soon'", failure("url=http://h/", "timeout=soon"));
    }

    @Test
    void settingsNeverShowSecretsOrTheQuery() throws Exception {
        HttpSettings s = HttpSettings.parse(config("url=https://u:pw@h/d.img?sig=zzz", "cookie=c00kie", "timeout=0"));
        String shown = s.toString();
        assertFalse(shown.contains("pw") || shown.contains("c00kie") || shown.contains("zzz"), shown);
        assertEquals("u", s.user());
        assertEquals("https://h/d.img?sig=zzz", s.url().toString());
        assertNull(s.timeout(), "timeout=0: none");
        assertEquals(java.net.http.HttpClient.Version.HTTP_2, s.version(), "https: HTTP/2 when the server agrees");
        assertEquals(java.net.http.HttpClient.Version.HTTP_1_1, HttpSettings.parse(config("url=http://h/d")).version());
    }

    private static Config config(String... params) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String p : params) {
            int eq = p.indexOf('=');
            m.merge(p.substring(0, eq), p.substring(eq + 1), (a, b) -> a + Config.REPEAT_SEPARATOR + b);
        }
        return new Config(m);
    }
}
