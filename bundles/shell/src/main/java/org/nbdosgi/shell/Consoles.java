package org.nbdosgi.shell;

import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;

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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consoles of container mode: the local one when nbd-osgi runs in a terminal
 * ({@link LocalConsole}) and the SSH one ({@link SshConsole}), each session an interactive
 * {@link ConsoleLoop}. Gogo's shell commands (grep, cat, each, if, complete, source...) are
 * registered here, as gogo.jline's activator would (the launcher does not start it: its shell
 * stops the server at Ctrl-D without asking and prints exceptions with their class names); its
 * {@code help} is left out for the console's own. {@code exit} and {@code logout} end a console
 * session. Control plane.
 */
@Component(immediate = true)
public final class Consoles {
    private static final Logger LOG = LoggerFactory.getLogger(Consoles.class);

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
        register(ctx, "gogo", new Builtin(), functions(Builtin.class));
        register(ctx, "gogo", new Procedural(), functions(Procedural.class));
        register(ctx, "gogo", new Posix(processor), functions(Posix.class));
        register(ctx, "gogo", gogo, Arrays.stream(functions(Shell.class)).filter(f -> !f.equals("help")).toArray(String[]::new));
        for (String name : List.of("exit", "logout")) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put("osgi.command.scope", "shell");
            props.put("osgi.command.function", name);
            registrations.add(ctx.registerService(Function.class, Consoles::exit, props));
        }
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

    private void register(BundleContext ctx, String scope, Object commands, String[] functions) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", scope);
        props.put("osgi.command.function", functions);
        registrations.add(ctx.registerService(commands.getClass().getName(), commands, props));
    }

    /** gogo.jline's list of a class's commands (package-private there, as its activator reads it). */
    private static String[] functions(Class<?> commands) {
        try {
            Field f = commands.getDeclaredField("functions");
            f.setAccessible(true);
            return (String[]) f.get(null);
        } catch (ReflectiveOperationException e) {
            LOG.warn("gogo.jline's {} commands are missing: {}", commands.getSimpleName(), e.getMessage());
            return new String[0];
        }
    }
}
