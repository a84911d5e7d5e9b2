package org.nbdosgi.console.log;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.apache.felix.service.command.CommandSession;
import org.nbdosgi.console.Command;
import org.nbdosgi.logging.RecentLines;

/** {@code log:tail}: the last lines, then each new one, until Ctrl-C or the reader goes. */
final class LogTail extends Command {
    LogTail() {
        super("log", "tail", "show the last log lines, then each new one as it is logged, until Ctrl-C",
                "[-n N]\n  -n N  start with the last N lines (default 10)");
    }

    @Override
    protected Object run(CommandSession session, List<String> args, PrintStream out) throws Exception {
        int n = Logback.count(args, 10);
        LinkedBlockingQueue<String> fresh = new LinkedBlockingQueue<>();
        RecentLines recent = Logback.recent();
        try (AutoCloseable following = recent.follow(fresh::add)) {
            recent.last(n).forEach(out::print);
            out.flush();
            while (!out.checkError()) {                  // the reader went away: stop
                String line = fresh.poll(500, TimeUnit.MILLISECONDS);   // Ctrl-C interrupts
                if (line != null) {
                    out.print(line);
                    out.flush();
                }
            }
        } catch (InterruptedException stop) {
            Thread.currentThread().interrupt();
        }
        return null;
    }
}
