package org.nbdosgi.metrics;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.admin.ServerMetrics;

/**
 * One reading of every metric, grouped by name: what {@link ServerMetrics#collect} reported, copied
 * (a histogram's buckets are read once), for the Prometheus collector and the JMX beans to present.
 */
final class Samples implements MetricSink {
    enum Type { COUNTER, GAUGE, HISTOGRAM }

    /** One series: its labels (name, value pairs), a value, or for a histogram its bucket counts and sum. */
    record Point(String[] labels, double value, long[] buckets, double sumSeconds) {
        String label(String name) {
            for (int i = 0; i + 1 < labels.length; i += 2) {
                if (labels[i].equals(name)) {
                    return labels[i + 1];
                }
            }
            return null;
        }

        long count() {
            long n = 0;
            for (long b : buckets) {
                n += b;
            }
            return n;
        }
    }

    record Family(String name, String help, Type type, List<Point> points) {
    }

    private final Map<String, Family> families = new LinkedHashMap<>();

    static Samples of(ServerMetrics metrics) {
        Samples s = new Samples();
        metrics.collect(s);
        return s;
    }

    List<Family> families() {
        return List.copyOf(families.values());
    }

    @Override
    public void counter(String name, String help, double value, String... labels) {
        add(name, help, Type.COUNTER, new Point(labels.clone(), value, null, 0));
    }

    @Override
    public void gauge(String name, String help, double value, String... labels) {
        add(name, help, Type.GAUGE, new Point(labels.clone(), value, null, 0));
    }

    @Override
    public void latency(String name, String help, LatencyHistogram histogram, String... labels) {
        add(name, help, Type.HISTOGRAM, new Point(labels.clone(), 0, histogram.bucketCounts(), histogram.sumNanos() / 1e9));
    }

    private void add(String name, String help, Type type, Point p) {
        if (p.labels.length % 2 != 0) {
            throw new IllegalArgumentException(name + ": labels come in name, value pairs");
        }
        Family f = families.computeIfAbsent(name, n -> new Family(n, help, type, new ArrayList<>()));
        if (f.type != type) {
            throw new IllegalArgumentException(name + " is a " + f.type + ", reported as a " + type);
        }
        f.points.add(p);
    }
}
