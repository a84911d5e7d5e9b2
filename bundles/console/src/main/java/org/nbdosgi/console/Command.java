package org.nbdosgi.console;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Function;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

/**
 * One console command, one small class each, registered as a Gogo {@link Function} (so its name
 * may contain dashes) under {@code scope:name}, with its one-line summary in the service property
 * {@link #SUMMARY} for {@code help}. Every command answers {@code --help}; a failure is a
 * {@link Failure}, whose message is what the user reads (exit status 1 from
 * {@code nbd-osgi-client}). A scope's commands are registered together by one component
 * ({@code NbdCommands}, {@code BundleCommands}, ...): a new command is a new subclass added to its
 * scope's list. Control plane.
 */
public abstract class Command implements Function {
    /**
     * The service property with a command's one-line description, which {@code help} lists. Any
     * bundle may set it on the Gogo commands it registers (a plugin's {@code nbd:} command, say).
     */
    public static final String SUMMARY = "nbd.command.summary";

    /** A command that did not do what it was asked; the message says why, in one line. */
    public static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Failure(String message) {
            super(message);
        }

        /** The message alone: shells print an exception's toString, and users read no class names. */
        @Override
        public String toString() {
            return getMessage();
        }
    }

    private final String scope;
    private final String name;
    private final String summary;
    private final String usage;

    /**
     * @param summary one line: what it does
     * @param usage   the usage line after the command's name, then any detail on further lines
     */
    protected Command(String scope, String name, String summary, String usage) {
        this.scope = scope;
        this.name = name;
        this.summary = summary;
        this.usage = usage;
    }

    public final String scope() {
        return scope;
    }

    public final String name() {
        return name;
    }

    /** The name users type, as {@code --help} shows it. */
    public final String typedName() {
        return scope + ":" + name;
    }

    public final String summary() {
        return summary;
    }

    public final String usage() {
        return usage;
    }

    /**
     * Does the work on a copy of the arguments (options may be removed from it), printing to
     * {@code out}; a non-null result is the command's value (for scripts).
     */
    protected abstract Object run(CommandSession session, List<String> args, PrintStream out) throws Exception;

    @Override
    public final Object execute(CommandSession session, List<Object> arguments) throws Exception {
        List<String> args = new ArrayList<>();
        for (Object a : arguments) {
            args.add(String.valueOf(a));
        }
        // System.out, not the session's console: Gogo points it at this command's place in a pipe
        PrintStream out = System.out;
        if (args.contains("--help") || args.contains("-h")) {
            out.println(typedName() + " - " + summary);
            out.println("usage: " + typedName() + " " + usage);
            return null;
        }
        return run(session, args, out);
    }

    /** Registers this command as {@code scope:name}. */
    public final ServiceRegistration<Function> register(BundleContext ctx) {
        return register(ctx, scope, name, null);
    }

    /**
     * Registers this command under another name too; a ranking puts it before another provider of
     * the same {@code scope:name} (Gogo runs the highest).
     */
    public final ServiceRegistration<Function> register(BundleContext ctx, String aliasScope, String aliasName, Integer ranking) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", aliasScope);
        props.put("osgi.command.function", aliasName);
        props.put(SUMMARY, summary);
        if (ranking != null) {
            props.put(Constants.SERVICE_RANKING, ranking);
        }
        return ctx.registerService(Function.class, this, props);
    }

    /** Removes {@code flag} from args; true if it was there. */
    public static boolean flag(List<String> args, String flag) {
        return args.remove(flag);
    }

    /** Removes {@code --option VALUE} (or {@code --option=VALUE}) from args; null if absent. */
    public static String option(List<String> args, String option) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals(option)) {
                if (i + 1 >= args.size()) {
                    throw new Failure(option + " needs a value");
                }
                args.remove(i);
                return args.remove(i);
            }
            if (a.startsWith(option + "=")) {
                args.remove(i);
                return a.substring(option.length() + 1);
            }
        }
        return null;
    }

    /** Fails on a {@code --option} left over (but {@code --filter=}, part of an export's chain). */
    public static void noMoreOptions(List<String> args) {
        for (String a : args) {
            if (a.startsWith("--") && !a.startsWith("--filter")) {
                throw new Failure("unknown option " + a);
            }
        }
    }

    /** Fails on any option left over, long or short. */
    public static void noOptions(List<String> args) {
        for (String a : args) {
            if (a.startsWith("-")) {
                throw new Failure("unknown option " + a);
            }
        }
    }

    /** An export name as users type it: {@code ""} for the default export. */
    public static String quoted(String name) {
        return name.isEmpty() ? "\"\"" : name;
    }

    /** Unregisters every registration and empties the list. */
    public static void unregister(List<? extends ServiceRegistration<?>> registrations) {
        registrations.forEach(ServiceRegistration::unregister);
        registrations.clear();
    }
}
