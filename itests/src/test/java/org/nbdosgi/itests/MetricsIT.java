package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

import com.sun.tools.attach.VirtualMachine;
import org.junit.Test;

/**
 * Metrics end to end: a known fio workload, then the exact counts and bytes on the Prometheus
 * endpoint, in a real Prometheus server's query API (Debian's prometheus, scraping us on a free
 * port) and in the JMX beans (read through a JMX connector attached to the server process); the
 * cache filter's own metrics; container mode's endpoint, a rewire's pause and {@code nbd:top}; and
 * that without {@code --metrics} the metrics bundle is not even installed.
 */
public class MetricsIT {
    private static final Duration T = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static Path dir(String test) throws Exception {
        return Distribution.workDir("metrics/" + test);
    }

    @Test
    public void exactCountsAfterAKnownFioWorkloadOnTheEndpointInPrometheusAndInJmx() throws Exception {
        Tools.require("fio");
        Tools.require("prometheus");
        int metricsPort = Tools.freePort();
        Path dir = dir("exact");
        try (ServerProcess server = ServerProcess.unix(dir, "--metrics=127.0.0.1:" + metricsPort,
                "--filter=cache", "memory", "64M")) {
            // 256 writes of 4 KiB, then 32 reads of 64 KiB
            fio(server.uri(), "--rw=write", "--bs=4k", "--size=1m", "--iodepth=8");
            fio(server.uri(), "--rw=read", "--bs=64k", "--size=2m", "--iodepth=4");
            // one read and one write past the end: refused, EINVAL and ENOSPC
            String errnos = Tools.nbdsh(server.uri(), String.join("\n",
                    "import errno",
                    "h.set_strict_mode(0)",
                    "for f in (lambda: h.pread(4096, 1 << 40), lambda: h.pwrite(b'x' * 4096, 1 << 40)):",
                    "    try:",
                    "        f()",
                    "    except nbd.Error as e:",
                    "        print(e.errno if isinstance(e.errno, str) else errno.errorcode[e.errno])")).ok().out();
            assertEquals("EINVAL\nENOSPC\n", errnos);

            String text = scrape(metricsPort);
            assertEquals(text, 256 + 1, value(text, "nbd_export_requests_total{export=\"\",op=\"write\"}"), 0);
            assertEquals(text, 32 + 1, value(text, "nbd_export_requests_total{export=\"\",op=\"read\"}"), 0);
            assertEquals(text, 1 << 20, value(text, "nbd_export_bytes_total{export=\"\",op=\"write\"}"), 0);
            assertEquals(text, 2 << 20, value(text, "nbd_export_bytes_total{export=\"\",op=\"read\"}"), 0);
            assertEquals(text, 1, value(text, "nbd_export_errors_total{errno=\"EINVAL\",export=\"\",op=\"read\"}"), 0);
            assertEquals(text, 1, value(text, "nbd_export_errors_total{errno=\"ENOSPC\",export=\"\",op=\"write\"}"), 0);
            assertEquals(text, 257, value(text, "nbd_export_request_seconds_count{export=\"\",op=\"write\"}"), 0);
            assertEquals(text, 257, value(text, "nbd_export_request_seconds_bucket{export=\"\",op=\"write\",le=\"+Inf\"}"), 0);
            assertFalse("fio sent no flush", text.contains("op=\"flush\""));
            assertEquals(text, 0, value(text, "nbd_export_requests_in_flight{export=\"\"}"), 0);
            // the cache filter's own: every byte the clients read was a hit or a miss
            double hits = value(text, "nbd_cache_read_hit_bytes_total{export=\"\"}");
            double misses = value(text, "nbd_cache_read_miss_bytes_total{export=\"\"}");
            assertEquals(text, 2 << 20, hits + misses, 0);
            assertTrue(text, text.contains("nbd_cache_dirty_bytes{export=\"\"}"));

            jmx(server.pid());
            prometheus(dir, metricsPort);
        }
    }

    /** The same totals through the export's JMX bean, read over a JMX connector. */
    private static void jmx(long pid) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        String address;
        try {
            address = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        try (JMXConnector c = JMXConnectorFactory.connect(new JMXServiceURL(address))) {
            MBeanServerConnection mbs = c.getMBeanServerConnection();
            ObjectName export = new ObjectName("org.nbdosgi:type=Export,name=\"\"");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!mbs.isRegistered(export) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue("JMX bean " + export, mbs.isRegistered(export));
            assertEquals(257L, mbs.getAttribute(export, "requests_total.write"));
            assertEquals((long) (1 << 20), mbs.getAttribute(export, "bytes_total.write"));
            assertEquals((long) (2 << 20), mbs.getAttribute(export, "bytes_total.read"));
            assertEquals(1L, mbs.getAttribute(export, "errors_total.read.EINVAL"));
            assertEquals(257L, mbs.getAttribute(export, "request_seconds.write.count"));
            double p99 = (Double) mbs.getAttribute(export, "request_seconds.write.p99_seconds");
            assertTrue("p99 " + p99, p99 > 0 && p99 < 30);
        }
    }

    /** A real Prometheus server scrapes us every second; its query API returns our series with the same values. */
    private static void prometheus(Path dir, int metricsPort) throws Exception {
        int webPort = Tools.freePort();
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, String.join("\n",
                "global:",
                "  scrape_interval: 1s",
                "scrape_configs:",
                "  - job_name: nbd-osgi",
                "    static_configs:",
                "      - targets: ['127.0.0.1:" + metricsPort + "']",
                ""));
        Path data = dir.resolve("prometheus-data");
        Tools.run(Duration.ofSeconds(30), "rm", "-rf", data.toString()).ok();
        Process p = new ProcessBuilder("/usr/bin/prometheus", "--config.file=" + config, "--storage.tsdb.path=" + data,
                "--web.listen-address=127.0.0.1:" + webPort).redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        try {
            String query = "nbd_export_requests_total{op=\"write\",job=\"nbd-osgi\"}";
            String answer = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                answer = query(webPort, query);
                if (answer.contains("\"257\"")) {
                    break;
                }
                Thread.sleep(500);
            }
            assertTrue("Prometheus answered " + answer + "\n" + Files.readString(dir.resolve("prometheus.log")),
                    answer.contains("\"status\":\"success\"") && answer.contains("\"257\"")
                            && answer.contains("\"__name__\":\"nbd_export_requests_total\""));
            String bytes = query(webPort, "nbd_export_bytes_total{op=\"read\"}");
            assertTrue(bytes, bytes.contains("\"2097152\""));
            String quantile = query(webPort, "histogram_quantile(0.5, nbd_export_request_seconds_bucket{op=\"write\"})");
            assertTrue(quantile, quantile.contains("\"status\":\"success\"") && quantile.contains("\"value\""));
        } finally {
            p.destroy();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
    }

    private static String query(int webPort, String promql) throws Exception {
        try {
            URI uri = URI.create("http://127.0.0.1:" + webPort + "/api/v1/query?query="
                    + java.net.URLEncoder.encode(promql, java.nio.charset.StandardCharsets.UTF_8));
            return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException notYet) {
            return notYet.toString();
        }
    }

    @Test
    public void containerModeServesMetricsCountsARewirePauseAndShowsTop() throws Exception {
        int metricsPort = Tools.freePort();
        try (Instance nbd = Instance.copy(dir("container")).start("-Dnbd.metrics=127.0.0.1:" + metricsPort)) {
            nbd.client("nbd:export-add", "m", "memory", "16M").ok();
            Tools.nbdsh(nbd.uri("m"), "h.pwrite(b'x' * 65536, 0)\nh.pread(4096, 0)").ok();
            nbd.client("nbd:filter-insert", "m", "stats").ok();
            String text = scrape(metricsPort);
            assertEquals(text, 1, value(text, "nbd_export_running{export=\"m\"}"), 0);
            assertEquals(text, 1, value(text, "nbd_export_requests_total{export=\"m\",op=\"write\"}"), 0);
            assertEquals(text, 65536, value(text, "nbd_export_bytes_total{export=\"m\",op=\"write\"}"), 0);
            assertTrue(text, value(text, "nbd_export_pauses_total{export=\"m\"}") >= 1);
            assertTrue(text, value(text, "nbd_export_pause_seconds_total{export=\"m\"}") > 0);

            String top = nbd.client("nbd:top", "-d", "0.2", "--once").ok().out();
            assertTrue(top, top.contains("EXPORT") && top.contains("P99") && Pattern.compile("(?m)^m\\s+0\\s").matcher(top).find());
            Tools.Result bad = nbd.client("nbd:top", "-n", "0");
            assertEquals(bad.out() + bad.err(), 1, bad.exit());

            // a connection's own series while it is connected: the client scrapes between its requests and its disconnect
            String own = Tools.nbdsh(nbd.uri("m"), String.join("\n",
                    "import urllib.request",
                    "for i in range(3):",
                    "    h.pwrite(b'y' * 4096, i * 4096)",
                    "h.pread(8192, 0)",
                    "text = urllib.request.urlopen('http://127.0.0.1:" + metricsPort + "/metrics').read().decode()",
                    "print('\\n'.join(l for l in text.splitlines() if l.startswith('nbd_connection_')))")).ok().out();
            assertTrue(own, Pattern.compile("(?m)^nbd_connection_requests_total\\{client=\"[^\"]+\",connection=\"\\d+\",export=\"m\",op=\"write\"\\} 3(\\.0)?$")
                    .matcher(own).find());
            assertTrue(own, Pattern.compile("(?m)^nbd_connection_bytes_total\\{[^}]*export=\"m\",op=\"write\"\\} 12288(\\.0)?$").matcher(own).find());
            assertTrue(own, Pattern.compile("(?m)^nbd_connection_bytes_total\\{[^}]*export=\"m\",op=\"read\"\\} 8192(\\.0)?$").matcher(own).find());
            assertTrue(own, Pattern.compile("(?m)^nbd_connection_request_seconds_count\\{[^}]*export=\"m\",op=\"read\"\\} 1(\\.0)?$").matcher(own).find());
            // once it is gone (the server notices a moment later), its counts are in the export's totals: 1 + 3 writes
            String after = scrape(metricsPort);
            for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                 after.contains("nbd_connection_requests_total{") && System.nanoTime() < end; after = scrape(metricsPort)) {
                Thread.sleep(100);
            }
            assertEquals(after, 4, value(after, "nbd_export_requests_total{export=\"m\",op=\"write\"}"), 0);
            assertFalse(after, after.contains("nbd_connection_requests_total{"));
        }
    }

    @Test
    public void withoutMetricsNothingOfThemIsLoadedAndABadAddressIsOneLine() throws Exception {
        Path launcher = ServerProcess.launcher();
        String script = "\"" + launcher.resolveSibling("nbd-osgi-client") + "\" lb; \"" + launcher.resolveSibling("nbd-osgi-client")
                + "\" nbd:top --once; true";
        Tools.Result off = Tools.run(T, Map.of(), List.of(launcher.toString(), "-U", "-", "memory", "1M", "--run", script));
        assertTrue(off.out() + off.err(), off.out().contains("nbd-osgi engine"));
        assertFalse(off.out(), off.out().contains("nbd-osgi metrics"));
        assertTrue(off.out() + off.err(), (off.out() + off.err()).contains("metrics are off"));

        int port = Tools.freePort();
        Tools.Result on = Tools.run(T, Map.of(), List.of(launcher.toString(), "-U", "-", "--metrics=" + port, "memory", "1M",
                "--run", "\"" + launcher.resolveSibling("nbd-osgi-client") + "\" lb"));
        assertTrue(on.out() + on.err(), on.out().contains("nbd-osgi metrics"));

        Tools.Result bad = Tools.run(T, Map.of(), List.of(launcher.toString(), "-U", "-", "--metrics=127.0.0.1:x", "memory", "1M"));
        assertEquals(1, bad.exit());
        assertEquals("nbd-osgi: --metrics: 'x' is not a number\n", bad.err());
    }

    private static void fio(String uri, String... job) throws Exception {
        List<String> cmd = Tools.args("fio", "--name=job", "--ioengine=nbd", "--uri=" + uri);
        cmd.addAll(List.of(job));
        Tools.run(T, Map.of(), cmd).ok();
    }

    /** GET /metrics on 127.0.0.1:{@code port}: the Prometheus text format. */
    static String scrape(int port) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(r.body(), 200, r.statusCode());
        return r.body();
    }

    /** The value of one series in the text format; fails if it is not there. */
    static double value(String text, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)").matcher(text);
        assertTrue(series + " in:\n" + text, m.find());
        return Double.parseDouble(m.group(1));
    }
}
