package org.nbdosgi.console;

import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * {@code help}: every command of the console with its one-line description; {@code help CMD}: its
 * usage. Our commands describe themselves ({@link Command}); Gogo's and gogo.command's carry
 * {@code @Descriptor}s. Registered as {@code felix:help} above gogo.command's own (see
 * {@link BundleCommands} for why that scope). Control plane.
 */
@Component(immediate = true)
public final class Help {
    private BundleContext context;
    private ServiceRegistration<Function> registration;

    @Activate
    void activate(BundleContext ctx) {
        this.context = ctx;
        registration = Command.register(ctx, BundleCommands.SCOPE, "help", Command.of("help", "help",
                "list every command with what it does, or show how to use one", "[COMMAND]\n"
                        + "  COMMAND: with or without its scope (bundle:list, list); every command also answers --help",
                this::help), BundleCommands.RANKING);
    }

    @Deactivate
    void deactivate() {
        registration.unregister();
    }

    private Object help(List<String> args, PrintStream out) throws InvalidSyntaxException {
        Command.noMoreOptions(args);
        Map<String, Object> commands = commands();
        if (args.isEmpty()) {
            Table t = new Table("COMMAND", "DESCRIPTION");
            commands.forEach((name, service) -> t.row(name, summary(name, service)));
            out.print(t);
            out.println("help COMMAND, or COMMAND --help, shows how to use one; Tab completes names in the interactive console.");
            return null;
        }
        if (args.size() > 1) {
            throw new Command.Failure("usage: help [COMMAND]");
        }
        String wanted = args.get(0);
        List<String> found = commands.keySet().stream()
                .filter(n -> n.equals(wanted) || n.substring(n.indexOf(':') + 1).equals(wanted)).toList();
        if (found.isEmpty()) {
            throw new Command.Failure("no command " + wanted + " (help lists them)");
        }
        for (String name : found) {
            Object service = commands.get(name);
            if (service instanceof Command c) {
                out.println(c.typedName() + " - " + c.summary());
                out.println("usage: " + c.typedName() + " " + c.usage());
            } else {
                out.println(name + " - " + summary(name, service));
                for (Method m : methods(name, service)) {
                    StringBuilder usage = new StringBuilder("usage: " + name);
                    for (Parameter p : m.getParameters()) {
                        if (p.getType().getName().equals("org.apache.felix.service.command.CommandSession")) {
                            continue;
                        }
                        Descriptor d = p.getAnnotation(Descriptor.class);
                        usage.append(" <").append(d != null ? d.value() : p.getType().getSimpleName()).append('>');
                    }
                    out.println(usage);
                }
            }
        }
        return null;
    }

    /** Every command, {@code scope:name} to the service object (the highest ranked for a name). */
    private Map<String, Object> commands() throws InvalidSyntaxException {
        Map<String, Object> out = new TreeMap<>();
        ServiceReference<?>[] refs = context.getAllServiceReferences(null, "(&(osgi.command.scope=*)(osgi.command.function=*))");
        List<ServiceReference<?>> sorted = new ArrayList<>(refs == null ? List.of() : List.of(refs));
        sorted.sort(null);                               // lowest ranking first, so the highest is put last and wins
        for (ServiceReference<?> ref : sorted) {
            Object functions = ref.getProperty("osgi.command.function");
            Object service = context.getService(ref);
            if (service == null) {
                continue;
            }
            context.ungetService(ref);
            for (String f : functions instanceof String[] a ? a : new String[] {String.valueOf(functions)}) {
                out.put(ref.getProperty("osgi.command.scope") + ":" + f, service);
            }
        }
        return out;
    }

    private static String summary(String name, Object service) {
        if (service instanceof Command c) {
            return c.summary();
        }
        for (Method m : methods(name, service)) {
            Descriptor d = m.getAnnotation(Descriptor.class);
            if (d != null) {
                return d.value();
            }
        }
        return "(" + name + " --help)";
    }

    private static List<Method> methods(String name, Object service) {
        String function = name.substring(name.indexOf(':') + 1);
        List<Method> out = new ArrayList<>();
        for (Method m : service.getClass().getMethods()) {
            if (m.getName().equalsIgnoreCase(function) || m.getName().equals("_" + function)) {
                out.add(m);
            }
        }
        return out;
    }
}
