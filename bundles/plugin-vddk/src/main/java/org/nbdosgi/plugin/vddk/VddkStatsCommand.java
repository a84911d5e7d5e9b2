package org.nbdosgi.plugin.vddk;

import java.io.PrintStream;
import java.util.Map;

import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/** {@code nbd:vddk-stats [EXPORT]}: the live VDDK function statistics of vddk exports. Control plane. */
@Component(service = VddkStatsCommand.class, property = {
        "osgi.command.scope=nbd",
        "osgi.command.function=vddk-stats",
        "nbd.command.summary=time spent in each VDDK function, per vddk export, since it started"})
public final class VddkStatsCommand {

    @Reference
    private VddkRuntime runtime;

    private static PrintStream out() {
        return System.out;                      // Gogo routes it to the calling session
    }

    /**
     * Gogo cannot map a name with a dash to a method, so it calls {@code _main} with the command
     * name first: {@code vddk-stats [EXPORT]}.
     */
    public void _main(String... args) {
        print(java.util.Arrays.copyOfRange(args, Math.min(1, args.length), args.length));
    }

    void print(String... args) {
        if (args.length > 1 || (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h")))) {
            out().println("""
                    nbd:vddk-stats - time spent in each VDDK function, per vddk export, since it started
                    usage: nbd:vddk-stats [EXPORT]
                      CALLS, TOTAL-US and MEAN-US per function; ReadAsync/WriteAsync time runs to their completion.""");
            return;
        }
        Map<String, VddkStats> exports = runtime.exports();
        if (args.length == 1) {
            VddkStats s = exports.get(args[0]);
            if (s == null) {
                out().println("no running vddk export named '" + args[0] + "' (vddk exports: "
                        + (exports.isEmpty() ? "none" : String.join(", ", exports.keySet())) + ")");
                return;
            }
            exports = Map.of(args[0], s);
        }
        if (exports.isEmpty()) {
            out().println("no vddk export is running");
        }
        exports.forEach((name, s) -> {
            out().println("export " + (name.isEmpty() ? "\"\"" : name) + ":");
            out().print(s.table());
        });
    }
}
