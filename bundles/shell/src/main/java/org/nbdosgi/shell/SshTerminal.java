package org.nbdosgi.shell;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.ExternalTerminal;
import org.nbdosgi.console.session.Script;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An SSH session with a terminal ({@code ssh -p 8101 alice@host}): the interactive console on a
 * JLine {@link ExternalTerminal} over the channel's streams. That terminal does the line
 * discipline in Java; JLine's own SSH shell factory opens a native pseudo-terminal per session
 * instead, whose pump threads print stack traces on the server's stderr when the client leaves.
 * The size follows the client's window; the terminal modes the client sends are not applied
 * (the line reader runs the terminal raw and binds both erase keys). {@code exit}, {@code logout}
 * or Ctrl-D end the session, never the server. Control plane (one thread per session).
 */
final class SshTerminal implements Command {
    private static final Logger LOG = LoggerFactory.getLogger(SshTerminal.class);
    private final ConsoleLoop loop;
    private InputStream in;
    private OutputStream out;
    private ExitCallback exit;
    private volatile Terminal terminal;

    SshTerminal(ConsoleLoop loop) {
        this.loop = loop;
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
        // a terminal has one output: errors are printed on it
    }

    @Override
    public void setExitCallback(ExitCallback exit) {
        this.exit = exit;
    }

    @Override
    public void start(ChannelSession channel, Environment env) throws IOException {
        Map<String, String> vars = env.getEnv();
        String type = vars.getOrDefault(Environment.ENV_TERM, "dumb");
        Terminal t = new ExternalTerminal(null, "nbd-osgi ssh", type, in, out, StandardCharsets.UTF_8,
                Terminal.SignalHandler.SIG_DFL, false, null, size(vars));
        env.addSignalListener((c, signal) -> {
            t.setSize(size(env.getEnv()));
            t.raise(Terminal.Signal.WINCH);
        }, Signal.WINCH);
        terminal = t;
        String user = channel.getSession().getUsername();
        Thread.ofPlatform().daemon().name("nbd-ssh-console-" + user).start(() -> run(t, user));
    }

    private void run(Terminal t, String user) {
        int status = 0;
        try {
            loop.run(t, "exit, logout or Ctrl-D leaves; the server runs on", reader -> true, reader -> {
            });
        } catch (Exception e) {
            LOG.debug("SSH console session of {} ended: {}", user, Script.message(e));
            status = 1;
        } finally {
            close(t);
            exit.onExit(status);
        }
    }

    @Override
    public void destroy(ChannelSession channel) {
        Terminal t = terminal;
        if (t != null) {
            close(t);                                   // the console's read ends, and with it the session
        }
    }

    private static void close(Terminal t) {
        try {
            t.close();
        } catch (IOException e) {
            // the client is gone either way
        }
    }

    /** The client's window (COLUMNS and LINES, as SSHD passes the pty request on); 80x24 without one. */
    private static Size size(Map<String, String> vars) {
        return new Size(number(vars.get(Environment.ENV_COLUMNS), 80), number(vars.get(Environment.ENV_LINES), 24));
    }

    private static int number(String value, int otherwise) {
        try {
            int n = value == null ? 0 : Integer.parseInt(value.trim());
            return n > 0 ? n : otherwise;
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
