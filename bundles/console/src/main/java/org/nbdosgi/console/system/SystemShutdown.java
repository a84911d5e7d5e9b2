package org.nbdosgi.console.system;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.nbdosgi.console.session.SessionVariables;
import org.nbdosgi.console.session.Shutdown;
import org.osgi.framework.BundleContext;

/** {@code system:shutdown}: asks first (on the console's own line when it has one) unless {@code -f}. */
final class SystemShutdown extends Command {
    private final BundleContext context;

    SystemShutdown(BundleContext context) {
        super("system", "shutdown", "stop the server (every export, every client); asks first", "[-f|--force]\n  -f, --force  do not ask");
        this.context = context;
    }

    @Override
    @SuppressWarnings("unchecked")
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws IOException {
        boolean force = flag(args, "-f") | flag(args, "--force");
        noMoreOptions(args);
        if (!args.isEmpty()) {
            throw new Failure("usage: system:shutdown [-f]");
        }
        if (!force) {
            String question = "Stop nbd-osgi (every export, every client)? (yes/no): ";
            String answer;
            if (session.get(SessionVariables.ASK) instanceof Function<?, ?> ask) {
                answer = ((Function<String, String>) ask).apply(question);
            } else {
                out.print(question);
                out.flush();
                answer = new BufferedReader(new InputStreamReader(session.getKeyboard(), StandardCharsets.UTF_8)).readLine();
            }
            if (answer == null || !answer.trim().toLowerCase(Locale.ROOT).matches("y|yes")) {
                throw new Failure("not stopped" + (answer == null ? " (no answer; system:shutdown -f stops without asking)" : ""));
            }
        }
        out.println("stopping nbd-osgi");
        out.flush();
        Shutdown.stop(context);
        return null;
    }
}
