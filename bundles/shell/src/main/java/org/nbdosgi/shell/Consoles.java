package org.nbdosgi.shell;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;

import org.apache.felix.gogo.jline.Builtin;
import org.apache.felix.gogo.jline.Posix;
import org.apache.felix.gogo.jline.Procedural;
import org.apache.felix.gogo.jline.Shell;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;

/**
 * The consoles of container mode: the local one when nbd-osgi runs in a terminal
 * ({@link LocalConsole}) and the SSH one ({@link SshConsole}), each session an interactive
 * {@link ConsoleLoop}. Gogo's shell commands (grep, cat, each, if, complete, source...) are
 * registered here, one service per command with its one line for {@code help} ({@link GogoCommands}),
 * where gogo.jline's activator would register them (the launcher does not start it: its shell
 * stops the server at Ctrl-D without asking and prints exceptions with their class names); its
 * {@code help} is left out for the console's own. {@code exit} and {@code logout} end a console
 * session. Control plane.
 */
@Component(immediate = true)
public final class Consoles {
    /** The service property help reads a command's one line from (the console bundle's Command.SUMMARY). */
    private static final String SUMMARY = "nbd.command.summary";

    @Reference
    private CommandProcessor processor;

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();
    private LocalConsole local;
    private SshConsole ssh;

    @Activate
    void activate(BundleContext ctx) throws Exception {
        Shell gogo = new Shell(new Shell.Context() {
            @Override
            public String getProperty(String name) {
                return ctx.getProperty(name);
            }

            @Override
            public void exit() {
                // a console session ends in ConsoleLoop, never the framework
            }
        }, processor);
        register(ctx, "gogo", new Builtin(), GogoCommands.BUILTIN);
        register(ctx, "gogo", new Procedural(), GogoCommands.PROCEDURAL);
        register(ctx, "gogo", new Posix(processor), GogoCommands.POSIX);
        register(ctx, "gogo", gogo, GogoCommands.SHELL);
        Function exit = Consoles::exit;
        register(ctx, "shell", exit, Map.of("exit", "leave this console (the server runs on; the local console asks first)",
                "logout", "leave this console (the server runs on; the local console asks first)"));
        String home = ctx.getProperty("gosh.home");
        ConsoleLoop loop = new ConsoleLoop(processor, gogo, Path.of(home == null ? "." : home, "etc", "gosh_profile"));
        if (Boolean.parseBoolean(ctx.getProperty("nbd.interactive"))) {
            local = new LocalConsole(ctx, loop);
            local.start();
        }
        if ("container".equals(ctx.getProperty("nbd.mode"))) {
            ssh = SshConsole.start(ctx, loop);
        }
    }

    @Deactivate
    void deactivate() {
        if (ssh != null) {
            ssh.stop();
        }
        if (local != null) {
            local.stop();
        }
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }

    /** {@code exit}/{@code logout}: the console loop ends the session after this command. */
    private static Object exit(CommandSession session, List<Object> args) {
        session.put(ConsoleLoop.EXIT, Boolean.TRUE);
        return null;
    }

    /** Registers each of {@code commands}' functions on its own, with its one line for help. */
    private void register(BundleContext ctx, String scope, Object commands, Map<String, String> summaries) {
        String type = commands instanceof Function ? Function.class.getName() : commands.getClass().getName();
        summaries.forEach((function, summary) -> {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("osgi.command.scope", scope);
            props.put("osgi.command.function", function);
            props.put(SUMMARY, summary);
            registrations.add(ctx.registerService(type, commands, props));
        });
    }
}
