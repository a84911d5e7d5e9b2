package org.nbdosgi.metrics;

import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.Set;

import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import org.nbdosgi.api.admin.ServerMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one {@link MetricsBean} registered in the platform MBean server per export and per
 * connection: a virtual thread looks every second which exist and registers or unregisters beans
 * (the values themselves are read at each JMX read). All beans go when it stops.
 */
final class JmxBeans {
    private static final Logger LOG = LoggerFactory.getLogger(JmxBeans.class);
    static final String DOMAIN = "org.nbdosgi";

    private final ServerMetrics metrics;
    private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    private final Set<ObjectName> registered = new HashSet<>();
    private final Thread syncer;
    private volatile boolean stopped;

    JmxBeans(ServerMetrics metrics) {
        this.metrics = metrics;
        this.syncer = Thread.ofVirtual().name("nbd-metrics-jmx").unstarted(this::loop);
    }

    void start() {
        syncer.start();
    }

    static ObjectName exportName(String export) throws JMException {
        return new ObjectName(DOMAIN + ":type=Export,name=" + ObjectName.quote(export));
    }

    static ObjectName connectionName(String export, String id) throws JMException {
        return new ObjectName(DOMAIN + ":type=Connection,export=" + ObjectName.quote(export) + ",id=" + id);
    }

    private void loop() {
        while (!stopped) {
            try {
                sync();
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                break;
            } catch (RuntimeException | JMException e) {
                LOG.debug("JMX beans not updated: {}", e.toString());
            }
        }
    }

    private synchronized void sync() throws JMException {
        if (stopped) {
            return;
        }
        Set<ObjectName> wanted = new HashSet<>();
        for (Samples.Family f : Samples.of(metrics).families()) {
            for (Samples.Point p : f.points()) {
                String export = p.label("export");
                String connection = p.label("connection");
                if (export == null) {
                    continue;
                }
                ObjectName name = connection == null ? exportName(export) : connectionName(export, connection);
                if (wanted.add(name) && !registered.contains(name)) {
                    server.registerMBean(new MetricsBean(metrics, export, connection), name);
                    registered.add(name);
                }
            }
        }
        for (ObjectName gone : Set.copyOf(registered)) {
            if (!wanted.contains(gone)) {
                unregister(gone);
            }
        }
    }

    synchronized void stop() {
        stopped = true;
        syncer.interrupt();
        Set.copyOf(registered).forEach(this::unregister);
    }

    private void unregister(ObjectName name) {
        registered.remove(name);
        try {
            server.unregisterMBean(name);
        } catch (JMException e) {
            LOG.debug("JMX bean {} not unregistered: {}", name, e.toString());
        }
    }
}
