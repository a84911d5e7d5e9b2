package org.nbdosgi.engine.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.engine.server.Engine;
import org.nbdosgi.engine.server.TlsMode;
import org.nbdosgi.tls.TlsSettings;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs what the launcher was started with. Control plane, on a thread of its own.
 * <ul>
 *   <li>With arguments: nbdkit's command line: one export, the listeners it names, the pid file,
 *       captive mode ({@code --run}, with {@code $console} naming the console socket for
 *       {@code nbd-osgi-client}). A bad command line is one line on stderr and exit status 1.</li>
 *   <li>Without: container mode: listen as {@code etc/config.properties} says; exports come from
 *       {@code etc/} through Configuration Admin.</li>
 * </ul>
 * Active only in a process started by the launcher, which offers the exit callback this needs.
 */
@Component(immediate = true)
public final class CliRunner {
    private static final Logger LOG = LoggerFactory.getLogger(CliRunner.class);

    private final PrintStream out = System.out;
    private final PrintStream err = System.err;

    @Reference
    private Engine engine;

    @Reference(target = "(nbd.launcher=true)")
    private IntConsumer exit;

    @Reference(target = "(nbd.launcher=true)", service = IntConsumer.class)
    private Map<String, Object> launcher;

    /** Offered by the launcher when it runs us in the background: called once we listen. */
    @Reference(target = "(nbd.launcher=ready)", cardinality = ReferenceCardinality.OPTIONAL)
    private Runnable ready;

    private String[] args;
    private BundleContext context;
    private Path privateDir;
    private Path pidFile;
    private volatile Process captive;
    private ContainerTls containerTls;

    @Activate
    void activate(BundleContext ctx) {
        this.context = ctx;
        Object a = launcher.get("nbd.args");
        this.args = a instanceof String[] s ? s : new String[0];
        Thread thread = new Thread(this::run, "nbd-cli");
        thread.setDaemon(true);
        thread.start();
    }

    @Deactivate
    void deactivate() {
        if (containerTls != null) {
            containerTls.close();
        }
        Process p = captive;
        if (p != null) {
            p.destroy();
        }
        deleteQuietly(pidFile);
        if (privateDir != null) {
            deleteQuietly(privateDir.resolve("socket"));
            deleteQuietly(privateDir);
        }
    }

    private void run() {
        try {
            int code = args.length == 0 ? container() : commandLine(CommandLine.parse(List.of(args)));
            if (code >= 0) {
                exit.accept(code);
            }
        } catch (CommandLine.UsageException | ConfigException e) {
            err.println("nbd-osgi: " + e.getMessage());
            exit.accept(1);
        } catch (IOException e) {
            err.println("nbd-osgi: " + e.getMessage());
            exit.accept(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("unexpected failure", e);
            err.println("nbd-osgi: " + e);
            exit.accept(1);
        }
    }

    /** Container mode: listeners from the framework properties; keeps running (returns -1). */
    private int container() throws IOException, CommandLine.UsageException {
        containerTls = new ContainerTls(engine, context);
        containerTls.start();                               // before listening: no client ever sees the wrong mode
        String socket = context.getProperty("nbd.listen.socket");
        if (socket != null && !socket.isBlank()) {
            engine.listenUnix(Path.of(socket.trim()));
        }
        String port = context.getProperty("nbd.listen.port");
        if (port != null && !port.isBlank()) {
            String address = context.getProperty("nbd.listen.address");
            engine.listenTcp(new InetSocketAddress(address == null || address.isBlank() ? "127.0.0.1" : address.trim(),
                    Integer.parseInt(port.trim())));
        }
        return -1;
    }

    /** Serves one export as nbdkit would; returns the exit status, or -1 to keep serving. */
    private int commandLine(CommandLine cl)
            throws CommandLine.UsageException, ConfigException, IOException, InterruptedException {
        if (cl.version()) {
            out.println("nbd-osgi " + context.getBundle().getVersion());
            return 0;
        }
        if (cl.plugin() == null) {
            if (cl.help()) {
                out.print(CommandLine.USAGE);
                return 0;
            }
            throw new CommandLine.UsageException("no plugin given (see nbd-osgi --help)");
        }
        if (cl.help()) {
            out.print(pluginHelp(cl));
            return 0;
        }
        if (cl.threads() != null) {
            engine.maxRequestsPerConnection(cl.threads());
        }
        TlsOptions tls = TlsOptions.of(cl.tls());
        configureTls(tls);
        ExportSpec spec = ExportSpec.parse(cl.exportName(), cl.readOnly(), cl.exportArgs());
        engine.addExport(spec, true);

        String socket = cl.unixSocket();
        if ("-".equals(socket)) {
            privateDir = Files.createTempDirectory("nbd-osgi");
            socket = privateDir.resolve("socket").toString();
        }
        Integer port = null;
        if (socket != null) {
            engine.listenUnix(Path.of(socket));
        }
        if (socket == null || cl.port() != null) {
            int wanted = cl.port() == null ? 10809 : cl.port();
            port = listenTcp(cl.address(), wanted);
        }
        if (cl.pidFile() != null) {
            pidFile = Path.of(cl.pidFile());
            // written beside it and renamed into place: whoever waits for the file never reads it empty
            Path partial = pidFile.resolveSibling(pidFile.getFileName() + ".partial");
            Files.writeString(partial, ProcessHandle.current().pid() + "\n");
            Files.move(partial, pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        if (cl.exitWithParent()) {
            watchParent();
        }
        if (ready != null) {
            ready.run();
        }
        if (cl.run() != null) {
            return runCaptive(cl, tls, socket, port);
        }
        return -1;
    }

    /** Loopback (IPv4 and, where present, IPv6) unless an address is given; returns the port. */
    private int listenTcp(String address, int port) throws IOException {
        if (address != null) {
            return engine.listenTcp(new InetSocketAddress(InetAddress.getByName(address), port));
        }
        int bound = engine.listenTcp(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        try {
            engine.listenTcp(new InetSocketAddress(InetAddress.getByName("::1"), bound));
        } catch (IOException e) {
            LOG.debug("no IPv6 loopback: {}", e.getMessage());
        }
        return bound;
    }

    private int runCaptive(CommandLine cl, TlsOptions tls, String socket, Integer port) throws IOException, InterruptedException {
        String name = cl.exportName();
        String encoded = URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", cl.run()).inheritIO();
        Map<String, String> env = pb.environment();
        // as nbdkit: with --tls=require the URI is nbds and names the certificates (or else the PSK file)
        boolean secure = tls.mode() == TlsMode.REQUIRE;
        String tlsQuery = !secure ? "" : tls.certificates() != null ? "tls-certificates=" + uriQuote(tls.certificates().toString())
                : tls.psk() != null ? "tls-psk-file=" + uriQuote(tls.psk().toString()) : "";
        if (socket != null) {
            env.put("uri", (secure ? "nbds" : "nbd") + "+unix:///" + encoded + "?socket=" + socket
                    + (tlsQuery.isEmpty() ? "" : "&" + tlsQuery));
            env.put("nbd", "nbd:unix:" + socket + (name.isEmpty() ? "" : ":exportname=" + name));
            env.put("unixsocket", socket);
        } else {
            String host = uriHost(cl.address());
            env.put("uri", (secure ? "nbds" : "nbd") + "://" + host + ":" + port + (name.isEmpty() ? "" : "/" + encoded)
                    + (tlsQuery.isEmpty() ? "" : "?" + tlsQuery));
            env.put("nbd", "nbd:" + host + ":" + port + (name.isEmpty() ? "" : ":exportname=" + name));
        }
        if (port != null) {
            env.put("port", Integer.toString(port));
        }
        env.put("exportname", name);
        if (tls.mode().captiveValue() != null) {
            env.put("tls", tls.mode().captiveValue());       // unset when off, as nbdkit does
        }
        String console = context.getProperty("nbd.console.socket");
        if (console != null) {
            env.put("console", console);
        }
        captive = pb.start();
        int code = captive.waitFor();
        captive = null;
        return code;
    }

    /** Percent-encodes what a URI query value cannot hold as is; slashes stay readable. */
    static String uriQuote(String s) {
        StringBuilder b = new StringBuilder();
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~/".indexOf(c) >= 0) {
                b.append((char) c);
            } else {
                b.append('%').append(String.format("%02X", c & 0xff));
            }
        }
        return b.toString();
    }

    /** Loads the TLS material into the engine, or throws one line for the user. */
    private void configureTls(TlsOptions tls) throws CommandLine.UsageException, IOException {
        TlsSettings settings;
        try {
            settings = tls.settings();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.UsageException(e.getMessage());
        }
        engine.configureTls(tls.mode(), settings);
    }

    /**
     * The host for {@code $uri}: the address {@code -i} names, so the URI reaches a server bound to
     * that address only (nbdkit says localhost, which does not); localhost when there is none or
     * it is a wildcard; an IPv6 literal in brackets.
     */
    static String uriHost(String address) {
        if (address == null || address.isBlank()) {
            return "localhost";
        }
        String a = address.trim();
        if (a.startsWith("[") && a.endsWith("]")) {
            a = a.substring(1, a.length() - 1);
        }
        if (a.equals("0.0.0.0") || a.equals("::") || a.equals("0:0:0:0:0:0:0:0")) {
            return "localhost";
        }
        return a.contains(":") ? "[" + a + "]" : a;
    }

    private void watchParent() {
        ProcessHandle.current().parent().ifPresent(parent -> {
            Thread t = new Thread(() -> {
                parent.onExit().join();
                LOG.info("parent process exited, stopping");
                exit.accept(0);
            }, "nbd-parent-watch");
            t.setDaemon(true);
            t.start();
        });
    }

    private String pluginHelp(CommandLine cl) throws ConfigException {
        StringBuilder b = new StringBuilder();
        for (String f : cl.filters()) {
            Filter filter = engine.filter(f);
            if (filter == null) {
                throw new ConfigException("unknown filter '" + f + "'");
            }
            describe(b, "filter", filter.name(), filter.description(), filter.parameters(), null, filter.help());
        }
        Plugin plugin = engine.plugin(cl.plugin());
        if (plugin == null) {
            throw new ConfigException("unknown plugin '" + cl.plugin() + "'");
        }
        describe(b, "plugin", plugin.name(), plugin.description(), plugin.parameters(), plugin.magicParameter(), plugin.help());
        return b.toString();
    }

    private static void describe(StringBuilder b, String kind, String name, String description, List<Parameter> params,
                                 String magic, String help) {
        b.append(kind).append(' ').append(name).append(": ").append(description).append('\n');
        List<String> rows = new ArrayList<>();
        for (Parameter p : params) {
            String key = (p.name().equals(magic) ? "[" + p.name() + "=]" : p.name() + "=") + "...";
            rows.add(String.format("  %-28s %s%s%s%s", key, p.help(), p.required() ? " (required)" : "",
                    p.repeatable() ? " (repeatable)" : "",
                    p.aliases().isEmpty() ? "" : " (also: " + String.join(", ", p.aliases()) + ")"));
        }
        rows.forEach(r -> b.append(r).append('\n'));
        if (help != null && !help.isBlank()) {
            b.append(help.strip()).append('\n');
        }
        b.append('\n');
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // best effort at exit
            }
        }
    }
}
