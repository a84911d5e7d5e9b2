package org.nbdosgi.console;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Function;

/**
 * One console command, registered as a Gogo {@link Function} (so its name may contain dashes): the
 * {@code nbd:} commands and the bundle commands. Every command answers {@code --help}; a failure is
 * a {@link Failure}, whose message is what the user reads (the console client turns it into exit
 * status 1). Control plane.
 */
abstract class Command implements Function {
    /** A command that did not do what it was asked; the message says why, in one line. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }

        /** The message alone: shells print an exception's toString, and users read no class names. */
        @Override
        public String toString() {
            return getMessage();
        }
    }

    /** What a command does: prints to {@code out} and returns its value (for scripts), or null. */
    interface Body {
        Object run(List<String> args, PrintStream out) throws Exception;
    }

    /** What a command does that needs its session (its variables, its keyboard). */
    interface SessionBody {
        Object run(CommandSession session, List<String> args, PrintStream out) throws Exception;
    }

    /** A command users type as {@code typedName}, running {@code body} on a copy of its arguments. */
    static Command of(String name, String typedName, String summary, String usage, Body body) {
        return of(name, typedName, summary, usage, (SessionBody) (session, args, out) -> body.run(args, out));
    }

    /** A command users type as {@code typedName} whose body sees its session. */
    static Command of(String name, String typedName, String summary, String usage, SessionBody body) {
        return new Command() {
            String name() {
                return name;
            }

            @Override
            String typedName() {
                return typedName;
            }

            String summary() {
                return summary;
            }

            String usage() {
                return usage;
            }

            Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
                return body.run(session, new ArrayList<>(args), out);
            }
        };
    }

    /** The name it is registered under, after its scope ({@code nbd:}; {@code felix:} for bundle commands). */
    abstract String name();

    /** The name users type, as {@code --help} shows it. */
    String typedName() {
        return "nbd:" + name();
    }

    /** One line for {@code --help}: what it does. */
    abstract String summary();

    /** The usage line after the command name, and any detail. */
    abstract String usage();

    /** Does the work, printing to {@code out}; a non-null result is the command's value (for scripts). */
    abstract Object run(CommandSession session, List<String> args, PrintStream out) throws Exception;

    @Override
    public Object execute(CommandSession session, List<Object> arguments) throws Exception {
        List<String> args = new ArrayList<>();
        for (Object a : arguments) {
            args.add(String.valueOf(a));
        }
        // System.out, not the session's console: Gogo points it at this command's place in a pipe
        PrintStream out = System.out;
        if (args.contains("--help") || args.contains("-h")) {
            out.println(typedName() + " - " + summary());
            out.println("usage: " + typedName() + " " + usage());
            return null;
        }
        return run(session, args, out);
    }

    /**
     * Registers {@code command} as the Gogo function {@code scope:function}; a ranking puts it
     * before another provider of the same name (Gogo runs the highest).
     */
    static org.osgi.framework.ServiceRegistration<Function> register(org.osgi.framework.BundleContext ctx, String scope,
            String function, Command command, Integer ranking) {
        java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
        props.put("osgi.command.scope", scope);
        props.put("osgi.command.function", function);
        if (ranking != null) {
            props.put(org.osgi.framework.Constants.SERVICE_RANKING, ranking);
        }
        return ctx.registerService(Function.class, command, props);
    }

    /** Removes {@code --flag} from args; true if it was there. */
    static boolean flag(List<String> args, String flag) {
        return args.remove(flag);
    }

    /** Removes {@code --option VALUE} (or {@code --option=VALUE}) from args; null if absent. */
    static String option(List<String> args, String option) {
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

    static void noMoreOptions(List<String> args) {
        for (String a : args) {
            if (a.startsWith("--") && !a.startsWith("--filter")) {
                throw new Failure("unknown option " + a);
            }
        }
    }

    static String quoted(String name) {
        return name.isEmpty() ? "\"\"" : name;
    }
}
