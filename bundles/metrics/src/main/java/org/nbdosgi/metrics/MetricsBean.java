package org.nbdosgi.metrics;

import java.util.LinkedHashMap;
import java.util.Map;

import javax.management.Attribute;
import javax.management.AttributeList;
import javax.management.AttributeNotFoundException;
import javax.management.DynamicMBean;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanInfo;
import javax.management.MBeanOperationInfo;

import org.nbdosgi.api.LatencyHistogram;
import org.nbdosgi.api.admin.ServerMetrics;

/**
 * The metrics of one export ({@code org.nbdosgi:type=Export,name=NAME}) or one connection
 * ({@code org.nbdosgi:type=Connection,export=NAME,id=N}) as read-only JMX attributes, read fresh at
 * each JMX read. An attribute is named after the Prometheus metric without its {@code nbd_export_}
 * or {@code nbd_connection_} prefix, followed by its other label values: {@code requests_total.read},
 * {@code errors_total.write.EIO}, {@code cache_hits_total}; a histogram gives {@code .count},
 * {@code .sum_seconds} and the {@code .p50_seconds}, {@code .p90_seconds}, {@code .p99_seconds}
 * estimates. Durations are doubles in seconds, everything else a long.
 */
final class MetricsBean implements DynamicMBean {
    private final ServerMetrics metrics;
    private final String export;
    private final String connection;                      // null for an export's bean

    MetricsBean(ServerMetrics metrics, String export, String connection) {
        this.metrics = metrics;
        this.export = export;
        this.connection = connection;
    }

    /** The attributes now, in a stable order. */
    Map<String, Object> attributes() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Samples.Family f : Samples.of(metrics).families()) {
            for (Samples.Point p : f.points()) {
                if (!export.equals(p.label("export")) || !java.util.Objects.equals(connection, p.label("connection"))) {
                    continue;
                }
                if (connection != null && p.label("client") != null) {
                    out.putIfAbsent("client", p.label("client"));
                }
                String name = attributeName(f.name(), p);
                if (f.type() == Samples.Type.HISTOGRAM) {
                    out.put(name + ".count", p.count());
                    out.put(name + ".sum_seconds", p.sumSeconds());
                    for (int q : new int[] {50, 90, 99}) {
                        long nanos = LatencyHistogram.quantileNanos(p.buckets(), q / 100.0);
                        out.put(name + ".p" + q + "_seconds", nanos < 0 ? Double.NaN : nanos / 1e9);
                    }
                } else if (name.contains("seconds")) {
                    out.put(name, p.value());
                } else {
                    out.put(name, Math.round(p.value()));
                }
            }
        }
        return out;
    }

    private static String attributeName(String family, Samples.Point p) {
        StringBuilder b = new StringBuilder(family.replaceFirst("^nbd_(export_|connection_)?", ""));
        String[] l = p.labels();
        for (int i = 0; i + 1 < l.length; i += 2) {
            if (!l[i].equals("export") && !l[i].equals("connection") && !l[i].equals("client")) {
                b.append('.').append(l[i + 1]);
            }
        }
        return b.toString();
    }

    @Override
    public Object getAttribute(String attribute) throws AttributeNotFoundException {
        Object v = attributes().get(attribute);
        if (v == null) {
            throw new AttributeNotFoundException(attribute + " (none yet: an operation appears once it was used)");
        }
        return v;
    }

    @Override
    public AttributeList getAttributes(String[] names) {
        Map<String, Object> now = attributes();
        AttributeList out = new AttributeList();
        for (String n : names) {
            if (now.containsKey(n)) {
                out.add(new Attribute(n, now.get(n)));
            }
        }
        return out;
    }

    @Override
    public void setAttribute(Attribute attribute) throws AttributeNotFoundException {
        throw new AttributeNotFoundException(attribute.getName() + " is read-only");
    }

    @Override
    public AttributeList setAttributes(AttributeList attributes) {
        return new AttributeList();
    }

    @Override
    public Object invoke(String actionName, Object[] params, String[] signature) {
        throw new UnsupportedOperationException("no operations");
    }

    @Override
    public MBeanInfo getMBeanInfo() {
        Map<String, Object> now = attributes();
        MBeanAttributeInfo[] attrs = new MBeanAttributeInfo[now.size()];
        int i = 0;
        for (Map.Entry<String, Object> e : now.entrySet()) {
            attrs[i++] = new MBeanAttributeInfo(e.getKey(), e.getValue().getClass().getName(), e.getKey(), true, false, false);
        }
        String what = connection == null ? "export '" + export + "'" : "connection " + connection + " to export '" + export + "'";
        return new MBeanInfo(MetricsBean.class.getName(), "nbd-osgi metrics of " + what, attrs, null,
                new MBeanOperationInfo[0], null);
    }
}
