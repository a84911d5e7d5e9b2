package org.nbdosgi.console.nbd;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.MetricSink;
import org.nbdosgi.api.admin.ServerMetrics;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.Table;

/**
 * {@code nbd:top}: per export and per connection, the request and byte rates, errors and latency
 * percentiles of the last interval, refreshed until a key (Enter on a line-buffered terminal) or
 * Ctrl-C; {@code -n N} and {@code --once} print N views (or one) one after another, for scripts.
 * Reads the engine's {@link ServerMetrics} twice per interval and shows the difference. Control
 * plane (the console's thread); reading metrics never waits for requests.
 */
final class NbdTop extends Command {
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
    private static final String CLEAR = "\033[H\033[2J";

    private final Supplier<ServerMetrics> metrics;

    NbdTop(Supplier<ServerMetrics> metrics) {
        super("nbd", "top", "live view of each export's and connection's request rates, latency percentiles and clients",
                "[-d SECONDS] [-n N | --once]\n"
                + "  refreshes every SECONDS (default 1) until a key or Ctrl-C; -n N prints N views, --once one.\n"
                + "  REQ/s, READ/s, WRITE/s, ERR/s: over the last interval; P50, P99: latency from a request's\n"
                + "  arrival to its reply, every operation together; IN-FLIGHT: requests being served now");
        this.metrics = metrics;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        String delay = option(args, "-d");
        String count = option(args, "-n");
        boolean once = flag(args, "--once");
        if (!args.isEmpty()) {
            throw new Failure("unexpected " + args.getFirst() + " (see nbd:top --help)");
        }
        long intervalMillis = delay == null ? 1000 : parseDelay(delay);
        int views = once ? 1 : count == null ? Integer.MAX_VALUE : parseCount(count);
        ServerMetrics m = metrics.get();
        if (m == null || !m.counting()) {
            throw new Failure("metrics are off: start with --metrics=PORT, or set nbd.metrics in etc/config.properties");
        }
        boolean live = views == Integer.MAX_VALUE;
        InputStream keys = session.getKeyboard();
        View before = View.of(m);
        for (int shown = 0; shown < views; shown++) {
            if (!sleep(intervalMillis, live ? keys : null)) {
                break;
            }
            View now = View.of(m);
            if (live) {
                out.print(CLEAR);
            }
            out.print(render(before, now, intervalMillis, live));
            out.flush();
            if (out.checkError()) {
                break;                                     // the client went away
            }
            before = now;
        }
        return null;
    }

    private static long parseDelay(String s) {
        try {
            double seconds = Double.parseDouble(s);
            if (seconds >= 0.1 && seconds <= 3600) {
                return Math.round(seconds * 1000);
            }
        } catch (NumberFormatException ignored) {
            // said below
        }
        throw new Failure("-d " + s + ": expected seconds between 0.1 and 3600");
    }

    private static int parseCount(String s) {
        try {
            int n = Integer.parseInt(s);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // said below
        }
        throw new Failure("-n " + s + ": expected a number of views, at least 1");
    }

    /** Waits one interval; false when a key was pressed or the command was interrupted (Ctrl-C). */
    private static boolean sleep(long millis, InputStream keys) {
        long deadline = System.currentTimeMillis() + millis;
        try {
            while (System.currentTimeMillis() < deadline) {
                if (keys != null && keys.available() > 0) {
                    keys.read(new byte[keys.available()]);
                    return false;
                }
                Thread.sleep(Math.min(100, Math.max(1, deadline - System.currentTimeMillis())));
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (IOException e) {
            return true;                                   // no keyboard: run on
        }
    }

    private static String render(View a, View b, long millis, boolean live) {
        double seconds = millis / 1000.0;
        StringBuilder s = new StringBuilder();
        s.append("nbd:top  ").append(LocalTime.now().format(CLOCK)).append("  every ").append(seconds).append(" s")
                .append(live ? "  (any key or Ctrl-C stops)" : "").append('\n');
        Table exports = new Table("EXPORT", "CLIENTS", "REQ/s", "READ/s", "WRITE/s", "ERR/s", "P50", "P99", "IN-FLIGHT");
        b.exports.forEach((name, now) -> {
            Counts was = a.exports.getOrDefault(name, new Counts());
            exports.row(Command.quoted(name), (long) now.clients, rate(now.requests - was.requests, seconds),
                    bytesRate(now.readBytes - was.readBytes, seconds), bytesRate(now.writeBytes - was.writeBytes, seconds),
                    rate(now.errors - was.errors, seconds), percentile(was, now, 0.5), percentile(was, now, 0.99),
                    (long) now.inFlight);
        });
        s.append(exports);
        if (!b.connections.isEmpty()) {
            Table conns = new Table("CONN", "EXPORT", "CLIENT", "REQ/s", "READ/s", "WRITE/s", "ERR/s", "P50", "P99", "IN-FLIGHT");
            b.connections.forEach((id, now) -> {
                Counts was = a.connections.getOrDefault(id, new Counts());
                conns.row(id, Command.quoted(now.export), now.client, rate(now.requests - was.requests, seconds),
                        bytesRate(now.readBytes - was.readBytes, seconds), bytesRate(now.writeBytes - was.writeBytes, seconds),
                        rate(now.errors - was.errors, seconds), percentile(was, now, 0.5), percentile(was, now, 0.99),
                        (long) now.inFlight);
            });
            s.append('\n').append(conns);
        }
        return s.toString();
    }

    private static String rate(double delta, double seconds) {
        return Long.toString(Math.round(Math.max(0, delta) / seconds));
    }

    private static String bytesRate(double delta, double seconds) {
        double perSecond = Math.max(0, delta) / seconds;
        if (perSecond < 1024) {
            return Math.round(perSecond) + " B";
        }
        return perSecond < 1024 * 1024 ? String.format("%.1f KiB", perSecond / 1024)
                : String.format("%.1f MiB", perSecond / (1024 * 1024));
    }

    private static String percentile(Counts was, Counts now, double q) {
        long[] interval = new long[LatencyHistogram.BUCKETS];
        for (int i = 0; i < interval.length; i++) {
            interval[i] = Math.max(0, now.buckets[i] - was.buckets[i]);
        }
        long nanos = LatencyHistogram.quantileNanos(interval, q);
        if (nanos < 0) {
            return "-";
        }
        return nanos < 1_000_000 ? nanos / 1000 + " us" : nanos < 10_000_000_000L
                ? String.format("%.1f ms", nanos / 1e6) : String.format("%.1f s", nanos / 1e9);
    }

    /** One export's or connection's totals at one moment. */
    private static final class Counts {
        String export = "";
        String client = "";
        double clients;
        double requests;
        double readBytes;
        double writeBytes;
        double errors;
        double inFlight;
        final long[] buckets = new long[LatencyHistogram.BUCKETS];
    }

    /** The totals of every export and connection at one moment, taken from the engine's metrics. */
    private record View(Map<String, Counts> exports, Map<Long, Counts> connections) implements MetricSink {
        static View of(ServerMetrics m) {
            View v = new View(new TreeMap<>(), new TreeMap<>());
            m.collect(v);
            return v;
        }

        private Counts counts(String name, String[] labels) {
            String export = label(labels, "export");
            String connection = label(labels, "connection");
            if (export == null) {
                return null;
            }
            if (name.startsWith("nbd_export_")) {
                return exports.computeIfAbsent(export, e -> new Counts());
            }
            if (name.startsWith("nbd_connection_") && connection != null) {
                Counts c = connections.computeIfAbsent(Long.parseLong(connection), id -> new Counts());
                c.export = export;
                c.client = String.valueOf(label(labels, "client"));
                return c;
            }
            return null;
        }

        private static String label(String[] labels, String name) {
            for (int i = 0; i + 1 < labels.length; i += 2) {
                if (labels[i].equals(name)) {
                    return labels[i + 1];
                }
            }
            return null;
        }

        @Override
        public void counter(String name, String help, double value, String... labels) {
            Counts c = counts(name, labels);
            if (c == null) {
                return;
            }
            String op = label(labels, "op");
            if (name.endsWith("_requests_total")) {
                c.requests += value;
            } else if (name.endsWith("_bytes_total") && "read".equals(op)) {
                c.readBytes += value;
            } else if (name.endsWith("_bytes_total") && "write".equals(op)) {
                c.writeBytes += value;
            } else if (name.endsWith("_errors_total")) {
                c.errors += value;
            }
        }

        @Override
        public void gauge(String name, String help, double value, String... labels) {
            Counts c = counts(name, labels);
            if (c == null) {
                return;
            }
            if (name.equals("nbd_export_clients")) {
                c.clients = value;
            } else if (name.endsWith("_requests_in_flight")) {
                c.inFlight = value;
            }
        }

        @Override
        public void latency(String name, String help, LatencyHistogram histogram, String... labels) {
            Counts c = counts(name, labels);
            if (c == null || !name.endsWith("_request_seconds")) {
                return;
            }
            long[] b = histogram.bucketCounts();
            for (int i = 0; i < b.length; i++) {
                c.buckets[i] += b[i];
            }
        }
    }
}
