package org.nbdosgi.engine.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.cli.CommandLine;
import org.nbdosgi.cli.Index;
import org.nbdosgi.cli.PrivateDirectory;
import org.nbdosgi.cli.Probing;
import org.nbdosgi.engine.server.Engine;
import org.nbdosgi.engine.server.TlsMode;
import org.nbdosgi.tls.TlsSettings;
import org.nbdosgi.engine.transport.StdioTransport;
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
 *   <li>With arguments: nbdkit's command line ({@link CommandLine}): one catch-all export (every
 *       name a client asks for reaches its plugin, as in nbdkit), the listeners it names, the pid
 *       file, privileges dropped once listening, captive mode ({@code --run}, with
 *       {@code $console} naming the console socket for {@code nbd-osgi-client}), and the probing
 *       questions for plugins the launcher's index does not know. A bad command line is one line
 *       on stderr and exit status 1.</li>
 *   <li>Without: container mode: listen as {@code etc/config.properties} says; exports come from
 *       {@code etc/} through Configuration Admin.</li>
 *   <li>With the framework property {@code nbd.index.out} (the build): write the index of every
 *       plugin and filter there ({@link Describer}) and exit.</li>
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
    private Path home;
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
        this.home = Path.of(String.valueOf(launcher.getOrDefault("nbd.home", ".")));
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
            String indexOut = context.getProperty("nbd.index.out");
            int code = indexOut != null ? writeIndex(Path.of(indexOut))
                    : args.length == 0 ? container() : commandLine(CommandLine.parse(List.of(args)));
            if (code >= 0) {
                exit.accept(code);
            }
        } catch (CommandLine.UsageException | ConfigException | IOException e) {
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

    /** The build: every plugin and filter, described from their own declarations. */
    private int writeIndex(Path file) throws IOException {
        new Describer(home).index(engine.plugins(), engine.filters()).store(file);
        return 0;
    }

    /**
     * Container mode: the socket systemd passed (socket activation), else listeners from the
     * framework properties; keeps running (returns -1).
     */
    private int container() throws IOException, CommandLine.UsageException {
        containerTls = new ContainerTls(engine, context);
        containerTls.start();                               // before listening: no client ever sees the wrong mode
        if (SocketActivation.inherited()) {
            engine.listenInherited(SocketActivation.channel());
            return -1;
        }
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
        if (cl.probing()) {
            return probe(cl);
        }
        if (cl.plugin() == null) {
            throw new CommandLine.UsageException("no plugin given (see nbd-osgi --help)");
        }
        warnAboutUnusedDebugFlags(cl.debugFlags());
        if (cl.threads() != null) {
            engine.maxRequestsPerConnection(cl.threads());
        }
        engine.handshake(cl.handshakeMask(), !cl.noStructuredReplies());
        TlsOptions tls = TlsOptions.of(cl);
        configureTls(tls);
        boolean activated = SocketActivation.inherited();
        if (activated && (cl.unixSocket() != null || cl.port() != null || cl.address() != null || cl.run() != null
                || cl.single())) {
            throw new CommandLine.UsageException("cannot use socket activation with -i, -p, --run, -s or -U");
        }
        // -e only names what --run's $uri asks for: the export serves every name, as nbdkit's plugin does
        ExportSpec spec = ExportSpec.parse("", cl.readOnly(), cl.exportArgs());
        engine.addExport(spec, true);

        if (cl.single()) {
            // one client on stdin/stdout; the server ends with it
            engine.serve(new StdioTransport(), () -> exit.accept(0));
            dropPrivileges(cl, null);
            return -1;
        }
        String socket = cl.unixSocket();
        if ("-".equals(socket)) {
            privateDir = PrivateDirectory.create("nbd-osgi");
            socket = privateDir.resolve("socket").toString();
        }
        Integer port = null;
        if (activated) {
            engine.listenInherited(SocketActivation.channel());
        } else if (socket != null) {
            engine.listenUnix(Path.of(socket));
        }
        if (!activated && (socket == null || cl.port() != null)) {
            port = listenTcp(cl.address(), cl.port() == null ? 10809 : cl.port(), cl.family());
        }
        if (cl.pidFile() != null) {
            pidFile = Path.of(cl.pidFile());
            // written beside it and renamed into place: whoever waits for the file never reads it empty
            Path partial = pidFile.resolveSibling(pidFile.getFileName() + ".partial");
            Files.writeString(partial, ProcessHandle.current().pid() + "\n");
            Files.move(partial, pidFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        dropPrivileges(cl, privateDir != null || socket == null ? null : Path.of(socket));
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

    /** -u/-g, with the files this process made for itself handed to the new owner (socket: -U's). */
    private void dropPrivileges(CommandLine cl, Path socket) throws IOException {
        if (cl.user() == null && cl.group() == null) {
            return;
        }
        List<Path> ours = new ArrayList<>();
        String data = context.getProperty("nbd.data");
        if (data != null) {
            ours.add(Path.of(data));                        // the private framework cache
        }
        String console = context.getProperty("nbd.console.socket");
        if (console != null) {
            ours.add(Path.of(console).toAbsolutePath().getParent());
        }
        if (privateDir != null) {
            ours.add(privateDir);
        }
        if (socket != null) {
            ours.add(socket);
        }
        Privileges.drop(cl.user(), cl.group(), ours);
    }

    /** --help, --version, --dump-plugin for what the launcher's index does not know (deploy/). */
    private int probe(CommandLine cl) throws CommandLine.UsageException, ConfigException {
        Describer describer = new Describer(home);
        Probing.Lookup live = new Probing.Lookup() {
            @Override
            public Index.Entry plugin(String name) {
                Plugin p = engine.plugin(name);
                return p == null ? null : describer.plugin(p);
            }

            @Override
            public Index.Entry filter(String name) {
                Filter f = engine.filter(name);
                return f == null ? null : describer.filter(f);
            }
        };
        try {
            out.print(Probing.answer(cl, live, home));
            out.flush();
            return 0;
        } catch (Probing.Missing m) {
            List<String> known = (m.kind() == Index.Kind.PLUGIN ? engine.plugins().stream().map(Plugin::name)
                    : engine.filters().stream().map(Filter::name)).sorted().toList();
            throw new ConfigException(m.getMessage() + " (available: " + String.join(", ", known) + ")");
        }
    }

    private void warnAboutUnusedDebugFlags(Map<String, Integer> flags) {
        for (String flag : flags.keySet()) {
            if (!CommandLine.DEBUG_FLAG_LOGGERS.containsKey(flag)) {
                err.println("nbd-osgi: warning: debug flag -D " + flag + " was not used");
            }
        }
    }

    /**
     * Every address of {@code -i} (of the family {@code -4}/{@code -6} allow), or with no {@code -i}
     * the wildcard of that family (a dual-stack socket on {@code ::} reaches IPv4 clients too, as
     * nbdkit's two sockets do). Returns the port (the first bound one's when {@code port} is 0).
     */
    private int listenTcp(String address, int port, CommandLine.Family family) throws IOException {
        List<InetAddress> addresses = new ArrayList<>();
        if (address != null) {
            for (InetAddress a : InetAddress.getAllByName(address)) {
                if (family == CommandLine.Family.ANY || (family == CommandLine.Family.IPV4) == (a instanceof Inet4Address)) {
                    addresses.add(a);
                }
            }
            if (addresses.isEmpty()) {
                throw new IOException("-i " + address + ": no " + (family == CommandLine.Family.IPV4 ? "IPv4" : "IPv6") + " address");
            }
        } else if (family == CommandLine.Family.IPV4) {
            addresses.add(InetAddress.getByName("0.0.0.0"));
        } else {
            addresses.add(InetAddress.getByName("::"));
        }
        int bound = port;
        IOException failed = null;
        int listening = 0;
        for (InetAddress a : addresses) {
            try {
                bound = engine.listenTcp(new InetSocketAddress(a, bound), family == CommandLine.Family.IPV6 && address == null);
                listening++;
            } catch (IOException e) {
                if (address == null && family == CommandLine.Family.ANY) {
                    // no IPv6 on this host: the IPv4 wildcard then
                    bound = engine.listenTcp(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), bound));
                    listening++;
                } else {
                    failed = e;
                }
            }
        }
        if (listening == 0 && failed != null) {
            throw failed;
        }
        return bound;
    }

    private int runCaptive(CommandLine cl, TlsOptions tls, String socket, Integer port) throws IOException, InterruptedException {
        String name = cl.exportName();
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", cl.run()).inheritIO();
        Map<String, String> env = pb.environment();
        // as nbdkit: with --tls=require the URI is nbds and names the certificates (or else the PSK file)
        boolean secure = tls.mode() == TlsMode.REQUIRE;
        String tlsQuery = !secure ? "" : tls.certificates() != null ? "tls-certificates=" + quote(tls.certificates().toString())
                : tls.psk() != null ? "tls-psk-file=" + quote(tls.psk().toString()) : "";
        String scheme = secure ? "nbds" : "nbd";
        String uri;
        if (socket != null) {
            uri = scheme + "+unix:///" + quote(name) + "?socket=" + socket + (tlsQuery.isEmpty() ? "" : "&" + tlsQuery);
            env.put("unixsocket", socket);
        } else {
            uri = scheme + "://" + uriHost(cl.address()) + ":" + port + (name.isEmpty() ? "" : "/" + quote(name))
                    + (tlsQuery.isEmpty() ? "" : "?" + tlsQuery);
        }
        env.put("uri", uri);
        env.put("nbd", uri);                     // nbdkit >= 1.24: the same URI (libnbd rejects the old nbd:unix: form)
        env.put("port", port == null ? "" : Integer.toString(port));
        env.put("exportname", name);
        env.remove("tls");                       // set only when TLS is on, as nbdkit does: 1 on, 2 require
        if (tls.mode().captiveValue() != null) {
            env.put("tls", tls.mode().captiveValue());
        }
        SocketActivation.VARIABLES.forEach(env::remove);   // systemd's socket is ours, not the command's
        String console = context.getProperty("nbd.console.socket");
        if (console != null) {
            env.put("console", console);
        }
        captive = pb.start();
        int code = captive.waitFor();
        captive = null;
        return code;
    }

    /**
     * A URI path or query value, as nbdkit writes it: unreserved characters and '/' as they are, the
     * rest percent-encoded.
     */
    static String quote(String name) {
        StringBuilder b = new StringBuilder();
        for (byte c : name.getBytes(StandardCharsets.UTF_8)) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~/".indexOf(c) >= 0) {
                b.append((char) c);
            } else {
                b.append('%').append(String.format("%02X", c & 0xFF));
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

    /**
     * nbdkit's --exit-with-parent: once the parent process is gone (we were handed to another
     * parent), stop. A virtual thread checks four times a second, so the watch costs no platform thread.
     */
    private void watchParent() {
        long parent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);
        Thread.ofVirtual().name("nbd-parent-watch").start(() -> {
            try {
                while (ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L) == parent
                        && ProcessHandle.of(parent).isPresent()) {
                    Thread.sleep(250);
                }
                LOG.info("parent process {} exited, stopping", parent);
                exit.accept(0);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
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
