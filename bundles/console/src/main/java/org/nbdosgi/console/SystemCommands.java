package org.nbdosgi.console;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.IntConsumer;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Function;
import org.nbdosgi.api.Units;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * {@code shell:info} (what runs: versions, uptime, memory, threads) and {@code system:shutdown}
 * (stops the server; asks first unless {@code -f}). Control plane.
 */
@Component(immediate = true)
public final class SystemCommands {
    /**
     * A session variable the interactive shells set: a {@code java.util.function.Function<String, String>}
     * that asks its user a question on their terminal and returns the answer (null at end of input).
     */
    public static final String ASK = ".nbd.ask";

    private final List<ServiceRegistration<Function>> registrations = new ArrayList<>();
    private BundleContext context;

    @Activate
    void activate(BundleContext ctx) {
        this.context = ctx;
        registrations.add(Command.register(ctx, "shell", "info", Command.of("info", "shell:info",
                "what is running: nbd-osgi, Java, the framework, uptime, memory, threads, the system", "",
                (Command.Body) this::info), null));
        registrations.add(Command.register(ctx, "system", "shutdown", Command.of("shutdown", "system:shutdown",
                "stop the server (every export, every client); asks first", "[-f|--force]\n  -f, --force  do not ask",
                this::shutdown), null));
    }

    @Deactivate
    void deactivate() {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    private Object info(List<String> args, PrintStream out) {
        Command.noMoreOptions(args);
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

    @SuppressWarnings("unchecked")
    private Object shutdown(CommandSession session, List<String> args, PrintStream out) throws IOException {
        boolean force = Command.flag(args, "-f") | Command.flag(args, "--force");
        Command.noMoreOptions(args);
        if (!args.isEmpty()) {
            throw new Command.Failure("usage: system:shutdown [-f]");
        }
        if (!force) {
            String question = "Stop nbd-osgi (every export, every client)? (yes/no): ";
            String answer;
            if (session.get(ASK) instanceof java.util.function.Function<?, ?> ask) {
                answer = ((java.util.function.Function<String, String>) ask).apply(question);
            } else {
                out.print(question);
                out.flush();
                answer = new BufferedReader(new InputStreamReader(session.getKeyboard(), StandardCharsets.UTF_8)).readLine();
            }
            if (answer == null || !answer.trim().toLowerCase(Locale.ROOT).matches("y|yes")) {
                throw new Command.Failure("not stopped" + (answer == null ? " (no answer; system:shutdown -f stops without asking)" : ""));
            }
        }
        out.println("stopping nbd-osgi");
        out.flush();
        stop(context);
        return null;
    }

    /** Ends the process through the launcher (exit status 0); without one, stops the framework. */
    static void stop(BundleContext context) {
        try {
            Collection<ServiceReference<IntConsumer>> launcher = context.getServiceReferences(IntConsumer.class, "(nbd.launcher=true)");
            if (!launcher.isEmpty()) {
                context.getService(launcher.iterator().next()).accept(0);
                return;
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        Thread.ofPlatform().daemon().name("nbd-shutdown").start(() -> {
            try {
                context.getBundle(0).stop();
            } catch (BundleException e) {
                org.slf4j.LoggerFactory.getLogger(SystemCommands.class).error("stopping the framework: {}", e.getMessage());
            }
        });
    }
}
