package org.nbdosgi.shell;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.jline.builtins.ssh.ShellFactoryImpl;
import org.jline.builtins.ssh.Ssh;
import org.osgi.framework.BundleContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console over SSH (Apache MINA SSHD), as Karaf's: on {@code nbd.ssh.host}:{@code nbd.ssh.port}
 * (127.0.0.1:8101 unless etc/config.properties says otherwise; port {@code off} disables it),
 * users from {@code etc/users.properties} (passwords) and {@code etc/keys.properties} (public
 * keys), see {@link SshUsers}; the host key in {@code etc/host.key} ({@link HostKey}). A session
 * with a terminal ({@code ssh -p 8101 alice@host}) gets the interactive console, as the local one
 * but without the server's log lines; {@code exit} or Ctrl-D leaves it and the server runs on. A
 * command without a terminal ({@code ssh ... 'nbd:exports | grep disk'}, nbd-osgi-client -h) runs
 * as a script: output on stdout, a failure's message on stderr and exit status 1. Control plane.
 */
final class SshConsole {
    private static final Logger LOG = LoggerFactory.getLogger(SshConsole.class);
    private final SshServer server;

    private SshConsole(SshServer server) {
        this.server = server;
    }

    /** Starts the SSH console as configured, or returns null when it is off or cannot start. */
    static SshConsole start(BundleContext ctx, ConsoleLoop loop) {
        String port = ctx.getProperty("nbd.ssh.port");
        if ("off".equalsIgnoreCase(port)) {
            return null;
        }
        String host = ctx.getProperty("nbd.ssh.host");
        Path etc = Path.of(ctx.getProperty("nbd.etc"));
        CommandProcessor processor = loop.processor();
        SshServer server = SshServer.setUpDefaultServer();
        try {
            server.setHost(host == null || host.isBlank() ? "127.0.0.1" : host);
            server.setPort(port == null || port.isBlank() ? 8101 : Integer.parseInt(port.trim()));
            server.setKeyPairProvider(KeyPairProvider.wrap(HostKey.load(etc.resolve("host.key"))));
            SshUsers users = new SshUsers(etc.resolve("users.properties"), etc.resolve("keys.properties"));
            server.setPasswordAuthenticator(users::password);
            server.setPublickeyAuthenticator(users::publicKey);
            ShellFactoryImpl terminals = new ShellFactoryImpl(params -> shell(loop, params));
            server.setShellFactory(channel -> new WithJLineLoader(terminals.createShell(channel)));
            server.setCommandFactory((channel, command) -> new Script(processor, command));
            ClassLoader saved = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(SshServer.class.getClassLoader());   // SSHD's service lookups
            try {
                server.start();
            } finally {
                Thread.currentThread().setContextClassLoader(saved);
            }
            LOG.info("SSH console on {}:{}{}", server.getHost(), server.getPort(),
                    users.any() ? "" : " (no users yet: add them to etc/users.properties or etc/keys.properties)");
            return new SshConsole(server);
        } catch (IOException | RuntimeException e) {
            LOG.error("no SSH console on {}:{}: {}", server.getHost(), port == null ? "8101" : port, ConsoleLoop.message(e));
            return null;
        }
    }

    void stop() {
        try {
            server.stop(true);
        } catch (IOException e) {
            LOG.debug("stopping the SSH console: {}", e.getMessage());
        }
    }

    private static void shell(ConsoleLoop loop, Ssh.ShellParams params) {
        try {
            loop.run(params.getTerminal(), reader -> true, reader -> {
            });
        } catch (Exception e) {
            LOG.debug("SSH console session of {} ended: {}", params.getSession().getUsername(), ConsoleLoop.message(e));
        } finally {
            params.getCloser().run();
        }
    }

    /**
     * JLine finds its terminal providers through the context class loader, which on SSHD's threads
     * is not JLine's: the session's terminal is made (in start) with JLine's own.
     */
    private record WithJLineLoader(Command shell) implements Command {
        @Override
        public void setInputStream(InputStream in) {
            shell.setInputStream(in);
        }

        @Override
        public void setOutputStream(OutputStream out) {
            shell.setOutputStream(out);
        }

        @Override
        public void setErrorStream(OutputStream err) {
            shell.setErrorStream(err);
        }

        @Override
        public void setExitCallback(ExitCallback exit) {
            shell.setExitCallback(exit);
        }

        @Override
        public void start(ChannelSession channel, Environment env) throws IOException {
            ClassLoader saved = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(org.jline.terminal.TerminalBuilder.class.getClassLoader());
            try {
                shell.start(channel, env);
            } finally {
                Thread.currentThread().setContextClassLoader(saved);
            }
        }

        @Override
        public void destroy(ChannelSession channel) throws Exception {
            shell.destroy(channel);
        }
    }

    /** A command line sent without a terminal: run once, as the console socket runs one. */
    private static final class Script implements Command {
        private final CommandProcessor processor;
        private final String script;
        private InputStream in;
        private OutputStream out;
        private OutputStream err;
        private ExitCallback exit;

        Script(CommandProcessor processor, String script) {
            this.processor = processor;
            this.script = script;
        }

        @Override
        public void setInputStream(InputStream in) {
            this.in = in;
        }

        @Override
        public void setOutputStream(OutputStream out) {
            this.out = out;
        }

        @Override
        public void setErrorStream(OutputStream err) {
            this.err = err;
        }

        @Override
        public void setExitCallback(ExitCallback exit) {
            this.exit = exit;
        }

        @Override
        public void start(ChannelSession channel, Environment env) {
            Thread.ofPlatform().daemon().name("nbd-ssh-command").start(this::run);
        }

        private void run() {
            PrintStream stdout = new PrintStream(out, true, StandardCharsets.UTF_8);
            PrintStream stderr = new PrintStream(err, true, StandardCharsets.UTF_8);
            int status = 0;
            try (CommandSession session = processor.createSession(in, stdout, stderr)) {
                session.put("SCOPE", "nbd:felix:gogo:*");         // as etc/gosh_profile: update is the bundle's
                Object result = session.execute(script);
                if (result != null) {
                    stdout.println(session.format(result, Converter.INSPECT));
                }
            } catch (Exception e) {
                stderr.println("nbd-osgi: " + ConsoleLoop.message(e));
                status = 1;
            }
            stdout.flush();
            stderr.flush();
            exit.onExit(status);
        }

        @Override
        public void destroy(ChannelSession channel) {
            // the script ends on its own; a closed channel makes its output fail
        }
    }
}
