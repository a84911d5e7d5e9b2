package org.nbdosgi.metrics;

import java.io.IOException;
import java.net.InetSocketAddress;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.nbdosgi.api.admin.ServerMetrics;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the engine's metrics while this bundle runs: Prometheus at {@code http://ADDR:PORT/metrics}
 * (framework property {@code nbd.metrics} = {@code [ADDR:]PORT}, the address defaulting to loopback;
 * the Prometheus Java client's own HTTP server and text format) and JMX beans in the platform MBean
 * server. A port that cannot be bound is logged and leaves JMX on: the NBD server keeps serving.
 * Control plane (start and stop); scrapes run on the HTTP server's threads.
 */
@Component(immediate = true)
public final class MetricsService {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsService.class);

    private final JmxBeans beans;
    private HTTPServer http;

    @Activate
    public MetricsService(@Reference ServerMetrics metrics, BundleContext context) {
        beans = new JmxBeans(metrics);
        beans.start();
        String where = context.getProperty("nbd.metrics");
        if (where == null || where.isBlank() || where.trim().equals("off")) {
            return;
        }
        InetSocketAddress address;
        try {
            address = address(where.trim());
        } catch (IllegalArgumentException e) {
            LOG.error("metrics: nbd.metrics = {}: {}; no Prometheus endpoint", where, e.getMessage());
            return;
        }
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new PrometheusCollector(metrics));
        try {
            http = HTTPServer.builder().inetAddress(address.getAddress()).port(address.getPort()).registry(registry)
                    .buildAndStart();
            LOG.info("metrics: Prometheus endpoint http://{}:{}/metrics", address.getHostString(), http.getPort());
        } catch (IOException e) {
            LOG.error("metrics: cannot listen on {}: {}; no Prometheus endpoint (JMX beans are there)", where, e.getMessage());
        }
    }

    /** {@code [ADDR:]PORT}; an IPv6 address in brackets ({@code [::1]:9810}). */
    static InetSocketAddress address(String s) {
        int colon = s.lastIndexOf(':');
        String host = colon < 0 ? "127.0.0.1" : s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("expected [ADDR:]PORT");
        }
        if (port < 0 || port > 65535 || host.isEmpty()) {
            throw new IllegalArgumentException("expected [ADDR:]PORT");
        }
        return new InetSocketAddress(host, port);
    }

    @Deactivate
    void deactivate() {
        if (http != null) {
            http.close();
        }
        beans.stop();
    }
}
