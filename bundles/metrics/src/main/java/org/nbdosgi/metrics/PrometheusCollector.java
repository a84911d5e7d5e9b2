package org.nbdosgi.metrics;

import java.util.HashSet;
import java.util.Set;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.admin.ServerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's metrics as the Prometheus client's snapshots, read at each scrape: counters, gauges,
 * and classic histograms whose buckets are {@link LatencyHistogram}'s, in seconds. The client's
 * exporter writes them in the text format Prometheus asks for.
 */
final class PrometheusCollector implements MultiCollector {
    private static final Logger LOG = LoggerFactory.getLogger(PrometheusCollector.class);
    private static final double[] BOUNDS_SECONDS = new double[LatencyHistogram.BUCKETS];

    static {
        for (int i = 0; i < LatencyHistogram.BUCKETS - 1; i++) {
            BOUNDS_SECONDS[i] = LatencyHistogram.upperBoundNanos(i) / 1e9;
        }
        BOUNDS_SECONDS[LatencyHistogram.BUCKETS - 1] = Double.POSITIVE_INFINITY;
    }

    private final ServerMetrics metrics;

    PrometheusCollector(ServerMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public MetricSnapshots collect() {
        MetricSnapshots.Builder out = MetricSnapshots.builder();
        Samples samples;
        try {
            samples = Samples.of(metrics);
        } catch (RuntimeException e) {
            LOG.warn("metrics: reading the engine's metrics failed", e);
            throw e;
        }
        for (Samples.Family f : samples.families()) {
            try {
                out.metricSnapshot(snapshot(f));
            } catch (IllegalArgumentException e) {
                LOG.debug("metric {} left out: {}", f.name(), e.getMessage());   // a layer's bad name or labels
            }
        }
        return out.build();
    }

    private static MetricSnapshot snapshot(Samples.Family f) {
        Set<Labels> seen = new HashSet<>();
        return switch (f.type()) {
            case COUNTER -> {
                // the exporter appends _total itself
                String name = f.name().endsWith("_total") ? f.name().substring(0, f.name().length() - 6) : f.name();
                CounterSnapshot.Builder b = CounterSnapshot.builder().name(name).help(f.help());
                for (Samples.Point p : f.points()) {
                    Labels l = Labels.of(p.labels());
                    if (seen.add(l)) {
                        b.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(p.value()).labels(l).build());
                    }
                }
                yield b.build();
            }
            case GAUGE -> {
                GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(f.name()).help(f.help());
                for (Samples.Point p : f.points()) {
                    Labels l = Labels.of(p.labels());
                    if (seen.add(l)) {
                        b.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(p.value()).labels(l).build());
                    }
                }
                yield b.build();
            }
            case HISTOGRAM -> {
                HistogramSnapshot.Builder b = HistogramSnapshot.builder().name(f.name()).help(f.help());
                for (Samples.Point p : f.points()) {
                    Labels l = Labels.of(p.labels());
                    if (seen.add(l)) {
                        b.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                                .classicHistogramBuckets(ClassicHistogramBuckets.of(BOUNDS_SECONDS, p.buckets()))
                                .sum(p.sumSeconds()).labels(l).build());
                    }
                }
                yield b.build();
            }
        };
    }
}
