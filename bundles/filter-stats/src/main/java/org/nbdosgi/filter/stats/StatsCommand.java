package org.nbdosgi.filter.stats;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code nbd:stats [--reset] [EXPORT...]} in the Gogo console: the stats filter's report of an
 * export right now, in the statsfile's format, without stopping or pausing anything. Control plane.
 */
@Component(service = StatsCommand.class, property = {"osgi.command.scope=nbd", "osgi.command.function=stats",
        "nbd.command.summary=the stats filter's counts of an export, now (the statsfile's format)"})
public final class StatsCommand {
    private static final String USAGE = """
            nbd:stats - the stats filter's counts of an export, now (the statsfile's format)
            usage: nbd:stats [--reset] [EXPORT...]
              EXPORT   an export with --filter=stats; without one, every such export, each under its name
              --reset  print the counts, then count again from zero (the statsfile gets what follows)""";

    private final LiveStats live;

    @Activate
    public StatsCommand(@Reference LiveStats live) {
        this.live = live;
    }

    public void stats(String... args) {
        run(args, System.out);                          // Gogo routes it to the calling session; failures throw
    }

    void run(String[] args, PrintStream out) {
        boolean reset = false;
        List<String> exports = new ArrayList<>();
        for (String a : args == null ? new String[0] : args) {
            switch (a) {
                case "--help", "-h" -> {
                    out.println(USAGE);
                    return;
                }
                case "--reset" -> reset = true;
                default -> {
                    if (a.startsWith("--")) {
                        throw new IllegalArgumentException("nbd:stats: unknown option " + a + " (see nbd:stats --help)");
                    }
                    exports.add(a.equals("\"\"") ? "" : a);        // "" typed literally: the default export
                }
            }
        }
        List<StatsInstance> chosen = new ArrayList<>();
        if (exports.isEmpty()) {
            chosen.addAll(live.all());
            if (chosen.isEmpty()) {
                throw new IllegalArgumentException("nbd:stats: no export uses the stats filter");
            }
        }
        for (String name : exports) {
            List<StatsInstance> found = live.of(name);
            if (found.isEmpty()) {
                throw new IllegalArgumentException("nbd:stats: export " + quoted(name) + " has no stats filter"
                        + withStats(live.all().stream().map(StatsInstance::exportName).distinct().toList()));
            }
            chosen.addAll(found);
        }
        boolean headed = chosen.size() > 1 || exports.isEmpty();
        for (StatsInstance i : chosen) {
            if (headed) {
                out.println("export " + quoted(i.exportName()) + ":");
            }
            out.print(reset ? i.reportAndReset() : i.report());
            if (headed) {
                out.println();
            }
        }
    }

    private static String withStats(List<String> names) {
        return names.isEmpty() ? " (no export has one)"
                : " (exports with one: " + String.join(", ", names.stream().map(StatsCommand::quoted).toList()) + ")";
    }

    private static String quoted(String name) {
        return name.isEmpty() ? "\"\"" : "'" + name + "'";
    }
}
