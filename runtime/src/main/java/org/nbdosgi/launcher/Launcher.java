package org.nbdosgi.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.stream.Stream;

import org.apache.felix.framework.FrameworkFactory;
import org.nbdosgi.cli.CommandLine;
import org.nbdosgi.cli.PrivateDirectory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;

/**
 * Starts Apache Felix with the distribution's bundles and hands the command line to the engine.
 *
 * <p>Before any framework starts, the command line is parsed here ({@link CommandLine}, the same
 * class the engine embeds): a mistake is one line and exit status 1 at once, probing questions are
 * answered from the build's index ({@link Probe}), and without {@code -f} the server goes to the
 * background ({@link Daemon}).
 *
 * <p>The framework: it installs {@code system/} (logging first, so every bundle finds a real SLF4J
 * provider), then {@code bundles/}, starts them, and registers an {@link IntConsumer} service
 * (property {@code nbd.launcher=true}, the arguments in {@code nbd.args}) through which the engine's
 * command-line component reports the exit status. Only JDK types cross that boundary. Jars are
 * installed by reference (read in place, not copied into the cache).
 *
 * <p>Container mode (no arguments): the framework keeps its cache in {@code data/}, FileInstall and
 * Configuration Admin watch {@code deploy/} and {@code etc/}, the SSH console listens, and the
 * interactive console runs when stdin is a terminal. Command-line mode: the cache is private to
 * the process and thrown away; FileInstall does not start (nbdkit's one export needs no hot folder),
 * and the jars of {@code deploy/} are installed as they are at start.
 *
 * <p>Metrics ({@code system/metrics/}: the Prometheus endpoint and JMX beans) are installed only when
 * wanted: in container mode unless {@code nbd.metrics = off} (default {@value #CONTAINER_METRICS}),
 * on the command line only with {@code --metrics=[ADDR:]PORT}. The framework property
 * {@code nbd.metrics} then holds the address; without it the engine does not count either.
 */
public final class Launcher {
    /** Jar name prefixes started first, in this order: SPI Fly (with its ASM) must weave slf4j-api before it loads. */
    private static final List<String> LOGGING_FIRST = List.of("asm", "org.apache.aries.spifly", "slf4j-api", "logback-core", "logging", "logback-classic");
    /**
     * What only container mode needs: the hot folder (etc/ and deploy/ watched) and Configuration
     * Admin, which holds etc/'s configurations (the console's config:* commands come and go with
     * it). On the command line the export comes from the arguments, and these would be 2 threads
     * and a few MB idle for nothing.
     */
    private static final List<String> CONTAINER_ONLY = List.of("org.apache.felix.fileinstall", "org.apache.felix.configadmin");
    /** Where container mode serves metrics unless etc/config.properties says otherwise. */
    static final String CONTAINER_METRICS = "127.0.0.1:9810";

    private final Path home;
    private final String[] args;
    private final CommandLine commandLine;
    private final boolean container;
    private final LogRouting logs;
    private final AtomicInteger exitCode = new AtomicInteger();
    private final PrintStream realOut = System.out;      // before Gogo replaces System.out
    private Framework framework;
    private Path privateCache;
    private Path consoleDir;
    private boolean metricsWanted;
    private FileLock instanceLock;
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    private Launcher(Path home, String[] args, CommandLine commandLine, LogRouting logs) {
        this.home = home;
        this.args = args;
        this.commandLine = commandLine;
        this.container = args.length == 0 && System.getProperty("nbd.index.out") == null;
        this.logs = logs;
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(System.getProperty("nbd.home", ".")).toAbsolutePath().normalize();
        CommandLine cl = null;
        if (args.length > 0) {
            try {
                cl = CommandLine.parse(List.of(args));
                if (cl.probing()) {
                    Optional<String> answer = Probe.answer(cl, home);
                    if (answer.isPresent()) {
                        System.out.print(answer.get());
                        System.out.flush();
                        System.exit(0);
                    }
                } else if (!cl.foreground() && !socketActivated() && !Daemon.isChild()) {
                    System.exit(Daemon.startInBackground(args, cl));
                }
            } catch (CommandLine.UsageException e) {
                fail(e.getMessage(), cl);
            }
        }
        LogRouting logs = null;
        try {
            logs = LogRouting.install(cl == null ? null : cl.log(), Daemon.isChild());
        } catch (IOException e) {
            fail(e.getMessage(), cl);
        }
        if (cl != null && cl.single()) {
            System.setOut(System.err);                    // -s: file descriptor 1 carries the protocol, nothing else
        }
        System.exit(new Launcher(home, args, cl, logs).run());
    }

    /** systemd passed a listening socket (it stays in the foreground, as a service's main process). */
    private static boolean socketActivated() {
        return Long.toString(ProcessHandle.current().pid()).equals(System.getenv("LISTEN_PID"));
    }

    /** One line where --log says (stderr by default), exit status 1. */
    private static void fail(String message, CommandLine cl) {
        try {
            LogRouting.install(cl == null ? null : cl.log(), false);
        } catch (IOException e) {
            message = e.getMessage();                      // --log=syslog without logger: say that instead
        }
        System.err.println("nbd-osgi: " + message);
        System.exit(1);
    }

    private int run() throws Exception {
        if (container && !lockInstance()) {
            return 1;
        }
        boolean verbose = commandLine != null && commandLine.verbose();
        configureLogging(verbose ? "debug" : container ? "info" : "warn");
        if (commandLine != null) {
            // -D nbdkit.backend.datapath=0 and the like: that group of -v messages, quiet
            commandLine.debugFlags().forEach((flag, value) -> {
                String logger = CommandLine.DEBUG_FLAG_LOGGERS.get(flag);
                if (logger != null) {
                    setDefault("nbd.log.level." + logger, value == 0 ? "info" : "debug");
                }
            });
        }
        Map<String, String> config = frameworkConfig();
        metricsWanted = config.containsKey("nbd.metrics");
        framework = new FrameworkFactory().newFramework(config);
        framework.init();
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopFramework, "nbd-shutdown"));
        // SIGTERM and SIGINT are a request to stop: stop cleanly and exit 0, as nbdkit does
        for (String signal : List.of("TERM", "INT")) {
            sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> exit(0));
        }
        BundleContext ctx = framework.getBundleContext();
        List<Bundle> bundles = new ArrayList<>();
        for (Path jar : bundleJars()) {
            bundles.add(ctx.installBundle("reference:" + jar.toUri()));
        }
        framework.start();
        for (Bundle b : bundles) {
            // gogo.jline's activator would run its own shell: the console bundles run ours on its classes
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null && !"org.apache.felix.gogo.jline".equals(b.getSymbolicName())) {
                start(b);
            }
        }
        if (Daemon.isChild()) {
            Hashtable<String, Object> ready = new Hashtable<>();
            ready.put("nbd.launcher", "ready");
            ctx.registerService(Runnable.class, Daemon.readySignal(realOut, logs), ready);
        }
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("nbd.launcher", "true");
        props.put("nbd.args", args);
        props.put("nbd.home", home.toString());
        ctx.registerService(IntConsumer.class, this::exit, props);
        framework.waitForStop(0);
        deleteTemporaryDirectories();
        return exitCode.get();
    }

    /**
     * Container mode owns its directory (data/cache, the exports of etc/, the console socket, the
     * port): a second start in the same directory would start every export again, wipe the running
     * instance's bundle cache and remove its console socket. A lock on {@code data/instance.lock},
     * held until the process ends, makes a second start fail at once, touching nothing, with one
     * line naming the running process.
     */
    private boolean lockInstance() throws IOException {
        Path data = home.resolve("data");
        if (!Files.isDirectory(data)) {
            Files.createDirectories(data, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        }
        Path file = data.resolve("instance.lock");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (IOException e) {
            lock = null;
        }
        if (lock == null) {
            String pid = new String(Channels.newInputStream(channel.position(0)).readAllBytes(), StandardCharsets.UTF_8).trim();
            channel.close();
            System.err.println("nbd-osgi: " + home + " is already running" + (pid.isEmpty() ? "" : " as process " + pid)
                    + " (one container per directory)");
            return false;
        }
        // ConfigAdmin keeps a copy of every configuration under data/cache, a secret given as a
        // value included, in files of the default mode: only the server's user may enter data/.
        try {
            Files.setPosixFilePermissions(data, OWNER_ONLY);
        } catch (IOException e) {
            System.err.println("nbd-osgi: warning: cannot make " + data + " private to its owner: " + e.getMessage());
        }
        channel.truncate(0).write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        instanceLock = lock;                              // held (and the channel open) until the process ends
        return true;
    }

    /** Called by the engine when the process should end with {@code code}. */
    private void exit(int code) {
        exitCode.set(code);
        Thread t = new Thread(this::stopFramework, "nbd-exit");
        t.setDaemon(true);
        t.start();
    }

    private void stopFramework() {
        try {
            if (framework != null && (framework.getState() & (Bundle.ACTIVE | Bundle.STARTING)) != 0) {
                framework.stop();
                framework.waitForStop(30_000);
            }
        } catch (BundleException | InterruptedException e) {
            System.err.println("nbd-osgi: stopping the framework failed: " + e);
        }
        deleteTemporaryDirectories();
    }

    private void start(Bundle b) {
        try {
            b.start();
        } catch (BundleException e) {
            System.err.println("nbd-osgi: bundle " + b.getSymbolicName() + " did not start: " + e.getMessage());
        }
    }

    /**
     * SLF4J (Logback, configured by the org.nbdosgi.logging fragment: to stderr) at {@code level}
     * unless -Dnbd.log.level says otherwise; loggers named {@code nbd.report.*} carry what a user
     * asked to see (statistics at export stop) and always print. Java logging (used by SPI Fly) is
     * limited to warnings. Libraries a plugin embeds log only their errors (Netty's closed
     * connections, the AWS SDK's wire traces at DEBUG): the plugin reports what matters itself.
     */
    private static void configureLogging(String level) {
        if (System.getProperty("java.util.logging.config.file") == null) {
            java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
        }
        setDefault("nbd.log.level", level);
        setDefault("nbd.log.level.io.netty", "error");
        setDefault("nbd.log.level.software.amazon.awssdk", "error");
    }

    private static void setDefault(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    private Map<String, String> frameworkConfig() throws IOException {
        Map<String, String> config = new HashMap<>();
        Path etc = home.resolve("etc");
        Path props = etc.resolve("config.properties");
        if (Files.isRegularFile(props)) {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(props)) {
                p.load(in);
            }
            p.stringPropertyNames().forEach(k -> config.put(k, p.getProperty(k)));
        }
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("nbd."))
                .forEach(k -> config.put(k, System.getProperty(k)));
        config.put("nbd.mode", container ? "container" : "cli");
        String metrics = container ? config.getOrDefault("nbd.metrics", CONTAINER_METRICS).trim()
                : commandLine == null ? null : commandLine.metrics();
        if (metrics == null || metrics.isEmpty() || metrics.equals("off")) {
            config.remove("nbd.metrics");
        } else {
            config.put("nbd.metrics", metrics);
        }
        // one resolver thread: resolving a few dozen bundles gains nothing from a pool that stays
        config.putIfAbsent("felix.resolver.parallelism", "1");
        // the framework's UUID must be unique, not secret: no SecureRandom to seed at start-up
        config.putIfAbsent("felix.uuid.secure", "false");
        // the cache starts clean every time: bundles come from bundles/ and deploy/, exports from etc/
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        if (container) {
            config.put(Constants.FRAMEWORK_STORAGE, home.resolve("data/cache").toString());
            config.put("felix.fileinstall.dir", home.resolve("deploy") + "," + etc);
            config.put("nbd.data", home.resolve("data").toString());
            config.put("nbd.etc", etc.toString());
        } else {
            privateCache = PrivateDirectory.create("nbd-osgi-cache");
            config.put(Constants.FRAMEWORK_STORAGE, privateCache.toString());
            config.put("nbd.data", privateCache.toString());
        }
        config.putIfAbsent("felix.fileinstall.poll", "1000");
        config.putIfAbsent("felix.fileinstall.noInitialDelay", "true");
        config.putIfAbsent("felix.fileinstall.filter", ".*\\.(jar|cfg|config)");
        config.putIfAbsent("felix.fileinstall.log.level", "2");
        // the console writes etc/*.cfg itself; FileInstall only reads them
        config.putIfAbsent("felix.fileinstall.enableConfigSave", "false");
        config.putIfAbsent("felix.log.level", "1");
        config.put("nbd.console.socket", consoleSocket(config.getOrDefault("nbd.console.socket",
                Path.of(config.get("nbd.data"), "console.sock").toString())));
        boolean interactive = container && Boolean.parseBoolean(System.getProperty("nbd.interactive", "false"));
        config.put("nbd.interactive", Boolean.toString(interactive));
        config.put("gosh.home", home.toString());
        return config;
    }

    /** What a Unix socket address holds: sun_path is 108 bytes with its terminating NUL. */
    private static final int SOCKET_PATH_MAX = 107;
    /** The console binds its socket at PARENT/.nbd-XXXXXX/s first, then renames it into place. */
    private static final int SOCKET_STAGING = "/.nbd-XXXXXX/s".length();

    /**
     * The console socket's path: {@code wanted}, or, when that is too long for a Unix socket, one in
     * a new private directory under the temporary directory (removed at exit). The framework
     * property then names the path really used, so {@code $console} in --run mode is right.
     */
    private String consoleSocket(String wanted) throws IOException {
        if (fitsUnixSocket(Path.of(wanted).toAbsolutePath())) {
            return wanted;
        }
        for (String tmp : List.of(System.getProperty("java.io.tmpdir"), "/tmp")) {
            Path dir = PrivateDirectory.create(Path.of(tmp), "nbd-osgi-");
            Path socket = dir.resolve("console.sock");
            if (fitsUnixSocket(socket)) {
                consoleDir = dir;
                System.err.println("nbd-osgi: console socket path " + wanted + " is too long for a Unix socket ("
                        + SOCKET_PATH_MAX + " bytes); using " + socket);
                return socket.toString();
            }
            Files.delete(dir);
        }
        return wanted;                                   // the console says why it cannot bind it
    }

    private static boolean fitsUnixSocket(Path path) {
        int length = path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        int staged = path.getParent().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length + SOCKET_STAGING;
        return length <= SOCKET_PATH_MAX && staged <= SOCKET_PATH_MAX;
    }

    /**
     * The jars to install, in order: the logging bundles (so no bundle ever binds the NOP logger),
     * the rest of {@code system/} (in command-line mode without what only container mode needs), in
     * container mode the consoles ({@code system/shell/}: the terminal's and SSH's), {@code bundles/},
     * and in command-line mode {@code deploy/}.
     */
    private List<Path> bundleJars() throws IOException {
        List<Path> system = list(home.resolve("system"));
        if (!container) {
            system.removeIf(jar -> CONTAINER_ONLY.stream().anyMatch(jar.getFileName().toString()::startsWith));
        }
        system.sort(Comparator.comparingInt(Launcher::loggingRank).thenComparing(Path::getFileName));
        List<Path> out = new ArrayList<>(system);
        if (container) {
            out.addAll(list(home.resolve("system/shell")));
        }
        out.addAll(list(home.resolve("bundles")));
        if (!container && System.getProperty("nbd.index.out") == null) {
            out.addAll(list(home.resolve("deploy")));
        }
        if (metricsWanted) {
            out.addAll(list(home.resolve("system/metrics")));
        }
        return out;
    }

    private static int loggingRank(Path jar) {
        String name = jar.getFileName().toString();
        for (int i = 0; i < LOGGING_FIRST.size(); i++) {
            if (name.startsWith(LOGGING_FIRST.get(i))) {
                return i;
            }
        }
        return LOGGING_FIRST.size();
    }

    private static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return new ArrayList<>();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(p -> p.toString().endsWith(".jar")).sorted().toList());
        }
    }

    private synchronized void deleteTemporaryDirectories() {
        deleteTree(privateCache);
        deleteTree(consoleDir);
    }

    private static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            // a leftover temporary directory is harmless
        }
    }
}
