package org.nbdosgi.console.log;

import java.io.PrintStream;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;

/** {@code log:display}: the lines the logging fragment keeps. */
final class LogDisplay extends Command {
    LogDisplay() {
        super("log", "display", "show the recent log lines", "[-n N]\n  -n N  only the last N lines (default: every line kept, "
                + "1000 unless -Dnbd.log.lines says otherwise)");
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) {
        int n = Logback.count(args, Integer.MAX_VALUE);
        Logback.recent().last(n).forEach(out::print);
        return null;
    }
}
