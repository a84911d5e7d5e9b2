package org.nbdosgi.shell;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.nbdosgi.console.session.PlainText;
import org.nbdosgi.console.session.Script;

/**
 * A command line sent over SSH ({@code ssh -p 8101 host 'nbd:exports | grep disk'},
 * {@code nbd-osgi-client -h}): run once, as the console socket runs one ({@link Script}), output on
 * stdout, a failure's message on stderr and exit status 1. Without a pseudo-terminal (the usual
 * case) the output carries no colours; {@code ssh -t} keeps them. Control plane (a thread per
 * command).
 */
final class SshCommandLine implements Command {
    private final CommandProcessor processor;
    private final String script;
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;

    SshCommandLine(CommandProcessor processor, String script) {
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
        boolean terminal = !env.getPtyModes().isEmpty();
        PrintStream stdout = new PrintStream(terminal ? out : new PlainText(out), true, StandardCharsets.UTF_8);
        PrintStream stderr = new PrintStream(terminal ? err : new PlainText(err), true, StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon().name("nbd-ssh-command").start(() -> exit.onExit(Script.run(processor, script, in, stdout, stderr)));
    }

    @Override
    public void destroy(ChannelSession channel) {
        // the script ends on its own; a closed channel makes its output fail
    }
}
