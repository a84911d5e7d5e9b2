package org.nbdosgi.console.system;

import java.io.PrintStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.api.Units;
import org.nbdosgi.console.Command;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/** {@code shell:info}: what runs (versions, uptime, memory, threads, the system). */
final class ShellInfo extends Command {
    private final BundleContext context;

    ShellInfo(BundleContext context) {
        super("shell", "info", "what is running: nbd-osgi, Java, the framework, uptime, memory, threads, the system", "");
        this.context = context;
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        noMoreOptions(args);
        var runtime = ManagementFactory.getRuntimeMXBean();
        var memory = ManagementFactory.getMemoryMXBean();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        Bundle[] bundles = context.getBundles();
        long active = java.util.Arrays.stream(bundles).filter(b -> b.getState() == Bundle.ACTIVE).count();
        Bundle engine = java.util.Arrays.stream(bundles).filter(b -> "org.nbdosgi.engine".equals(b.getSymbolicName()))
                .findFirst().orElse(context.getBundle());
        out.println("nbd-osgi");
        row(out, "Version", engine.getVersion());
        row(out, "Mode", context.getProperty("nbd.mode"));
        row(out, "Home", context.getProperty("nbd.home") == null ? System.getProperty("nbd.home", "-") : context.getProperty("nbd.home"));
        row(out, "Uptime", uptime(Duration.ofMillis(runtime.getUptime())));
        row(out, "Framework", context.getBundle(0).getSymbolicName() + " " + context.getBundle(0).getVersion());
        row(out, "Bundles", bundles.length + " (" + active + " active)");
        out.println("Java");
        row(out, "Version", Runtime.version() + " (" + System.getProperty("java.vendor") + ")");
        row(out, "Home", System.getProperty("java.home"));
        row(out, "Process", runtime.getPid());
        out.println("Memory");
        MemoryUsage heap = memory.getHeapMemoryUsage();
        row(out, "Heap used", Units.formatSize(heap.getUsed()) + " of " + Units.formatSize(heap.getCommitted())
                + " committed, " + (heap.getMax() < 0 ? "no" : Units.formatSize(heap.getMax())) + " maximum");
        for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (pool.getName().equals("direct")) {
                row(out, "Direct buffers", Units.formatSize(pool.getMemoryUsed()) + " in " + pool.getCount() + " buffers");
            }
        }
        out.println("Threads");
        row(out, "Live", threads.getThreadCount() + " platform threads (" + threads.getDaemonThreadCount() + " daemon), peak "
                + threads.getPeakThreadCount());
        out.println("System");
        row(out, "OS", os.getName() + " " + os.getVersion() + " " + os.getArch());
        row(out, "Processors", os.getAvailableProcessors());
        row(out, "Load average", os.getSystemLoadAverage() < 0 ? "-" : String.format(Locale.ROOT, "%.2f", os.getSystemLoadAverage()));
        return null;
    }

    private static void row(PrintStream out, String name, Object value) {
        out.printf("  %-16s %s%n", name, value);
    }

    private static String uptime(Duration d) {
        return d.toDaysPart() > 0 ? String.format(Locale.ROOT, "%dd %02dh %02dm", d.toDaysPart(), d.toHoursPart(), d.toMinutesPart())
                : String.format(Locale.ROOT, "%dh %02dm %02ds", d.toHoursPart(), d.toMinutesPart(), d.toSecondsPart());
    }
}
