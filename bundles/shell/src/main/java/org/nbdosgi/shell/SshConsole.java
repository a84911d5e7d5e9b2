package org.nbdosgi.shell;

import java.io.IOException;
import java.nio.file.Path;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.session.SessionListener;
import org.apache.sshd.server.SshServer;
import org.nbdosgi.console.session.Script;
import org.osgi.framework.BundleContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console over SSH (Apache MINA SSHD), as Karaf's: on {@code nbd.ssh.host}:{@code nbd.ssh.port}
 * (127.0.0.1:8101 unless etc/config.properties says otherwise; port {@code off} disables it),
 * users from {@code etc/users.properties} (passwords) and {@code etc/keys.properties} (public
 * keys), see {@link SshUsers}; the host key in {@code etc/host.key} ({@link HostKey}). A session
 * with a terminal ({@code ssh -p 8101 alice@host}) gets the interactive console ({@link SshTerminal}),
 * as the local one but without the server's log lines; {@code exit} or Ctrl-D leaves it and the
 * server runs on. A command ({@code ssh ... 'nbd:exports | grep disk'}, nbd-osgi-client -h) runs
 * as a script ({@link SshCommandLine}). Ed25519 keys (ssh-keygen's default) need Bouncy Castle,
 * which the distribution puts beside SSHD in system/shell/. Control plane.
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
            server.addSessionListener(new SessionListener() {
                @Override
                public void sessionEvent(Session session, Event event) {
                    if (event == Event.Authenticated) {
                        LOG.info("SSH console: {} logged in from {}", session.getUsername(), session.getRemoteAddress());
                    }
                }
            });
            server.setShellFactory(channel -> new SshTerminal(loop));
            server.setCommandFactory((channel, command) -> new SshCommandLine(processor, command));
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
            LOG.error("no SSH console on {}:{}: {}", server.getHost(), port == null ? "8101" : port, Script.message(e));
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
}
