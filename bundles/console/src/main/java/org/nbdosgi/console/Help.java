package org.nbdosgi.console;

import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.nbdosgi.console.bundle.BundleCommands;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * {@code help}: every command of the console with its one-line description; {@code help CMD}: its
 * usage. A command's description is its {@link Command#SUMMARY} service property (ours set it;
 * the shell bundle sets it on Gogo's commands), else a {@code @Descriptor} on its method (SCR's,
 * gogo.command's), else one of ours for the commands ConfigurationAdmin itself registers.
 * Functions named {@code _...} are completion helpers, not listed. Registered as {@code shell:help}
 * and as {@code felix:help} above gogo.command's own. Control plane.
 */
@Component(immediate = true)
public final class Help extends Command {
    /** ConfigurationAdmin (Felix's) registers its own methods as cm:* commands, without a word on them. */
    private static final Map<String, String> UNDESCRIBED = Map.of(
            "cm:getConfiguration", "ConfigurationAdmin.getConfiguration, the raw API (config:edit PID is the console's way)",
            "cm:getFactoryConfiguration", "ConfigurationAdmin.getFactoryConfiguration, the raw API (config:edit FACTORY~NAME)",
            "cm:createFactoryConfiguration", "ConfigurationAdmin.createFactoryConfiguration, the raw API (config:edit FACTORY~NAME)",
            "cm:listConfigurations", "ConfigurationAdmin.listConfigurations, the raw API (config:list is the console's way)");

    private BundleContext context;
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    public Help() {
        super("shell", "help", "list every command with what it does, or show how to use one", "[COMMAND]\n"
                + "  COMMAND: with or without its scope (bundle:list, list); every command also answers --help");
    }

    @Activate
    void activate(BundleContext ctx) {
        this.context = ctx;
        registrations.add(register(ctx));
        registrations.add(register(ctx, BundleCommands.FELIX, "help", BundleCommands.ABOVE_GOGO_COMMAND));
    }

    @Deactivate
    void deactivate() {
        unregister(registrations);
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws InvalidSyntaxException {
        noMoreOptions(args);
        Map<String, ServiceReference<?>> commands = commands();
        if (args.isEmpty()) {
            Table t = new Table("COMMAND", "DESCRIPTION");
            commands.forEach((name, ref) -> {
                if (!name.substring(name.indexOf(':') + 1).startsWith("_")) {
                    t.row(name, summary(name, ref));
                }
            });
            out.print(t);
            out.println("help COMMAND, or COMMAND --help, shows how to use one; Tab completes names in the interactive console.");
            return null;
        }
        if (args.size() > 1) {
            throw new Failure("usage: help [COMMAND]");
        }
        String wanted = args.get(0);
        List<String> found = commands.keySet().stream()
                .filter(n -> n.equals(wanted) || n.substring(n.indexOf(':') + 1).equals(wanted)).toList();
        if (found.isEmpty()) {
            throw new Failure("no command " + wanted + " (help lists them)");
        }
        for (String name : found) {
            ServiceReference<?> ref = commands.get(name);
            Object service = context.getService(ref);
            try {
                if (service instanceof Command c) {
                    out.println(c.typedName() + " - " + c.summary());
                    out.println("usage: " + c.typedName() + " " + c.usage());
                } else {
                    out.println(name + " - " + summary(name, ref));
                    printUsage(name, service, out);
                }
            } finally {
                context.ungetService(ref);
            }
        }
        return null;
    }

    /**
     * The usage of a command that is not ours: its methods' parameters where they are described
     * (SCR's, gogo.command's, ConfigurationAdmin's), else a pointer to its own --help (Gogo's shell
     * commands print their options there).
     */
    private static void printUsage(String name, Object service, PrintStream out) {
        List<Method> methods = service == null ? List.of() : methods(name, service);
        if (!UNDESCRIBED.containsKey(name) && methods.stream().noneMatch(m -> m.getAnnotation(Descriptor.class) != null)) {
            out.println("usage: " + name + " --help shows its options");
            return;
        }
        for (Method m : methods) {
            StringBuilder usage = new StringBuilder("usage: " + name);
            for (Parameter p : m.getParameters()) {
                if (p.getType() != CommandSession.class) {
                    Descriptor d = p.getAnnotation(Descriptor.class);
                    usage.append(" <").append(d != null ? d.value() : p.getType().getSimpleName()).append('>');
                }
            }
            out.println(usage);
        }
    }

    /** Every command, {@code scope:name} to its service (the highest ranked for a name, as Gogo runs it). */
    private Map<String, ServiceReference<?>> commands() throws InvalidSyntaxException {
        Map<String, ServiceReference<?>> out = new TreeMap<>();
        ServiceReference<?>[] refs = context.getAllServiceReferences(null, "(&(osgi.command.scope=*)(osgi.command.function=*))");
        List<ServiceReference<?>> sorted = new ArrayList<>(refs == null ? List.of() : List.of(refs));
        sorted.sort(null);                               // lowest ranking first, so the highest is put last and wins
        for (ServiceReference<?> ref : sorted) {
            Object functions = ref.getProperty("osgi.command.function");
            for (String f : functions instanceof String[] a ? a : new String[] {String.valueOf(functions)}) {
                out.put(ref.getProperty("osgi.command.scope") + ":" + f, ref);
            }
        }
        return out;
    }

    private String summary(String name, ServiceReference<?> ref) {
        if (ref.getProperty(SUMMARY) instanceof String s && !s.isBlank()) {
            return s;
        }
        Object service = context.getService(ref);
        try {
            for (Method m : service == null ? List.<Method>of() : methods(name, service)) {
                Descriptor d = m.getAnnotation(Descriptor.class);
                if (d != null) {
                    return d.value();
                }
            }
        } finally {
            context.ungetService(ref);
        }
        return UNDESCRIBED.getOrDefault(name, "(no description: " + name + " --help)");
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
