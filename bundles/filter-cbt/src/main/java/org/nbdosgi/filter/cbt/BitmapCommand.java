package org.nbdosgi.filter.cbt;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the three {@code nbd:bitmap-*} console commands share: Gogo calls {@code _main} with the
 * command's name first (it cannot map a name with a dash to a method); {@code --help} prints the
 * usage; {@code ""} typed literally names the default export; a failure throws, so the console
 * reports it and exits 1. Control plane.
 */
public abstract class BitmapCommand {
    private final String usage;
    private final int minArgs;
    private final int maxArgs;
    protected final LiveBitmaps live;

    BitmapCommand(LiveBitmaps live, String usage, int minArgs, int maxArgs) {
        this.live = live;
        this.usage = usage;
        this.minArgs = minArgs;
        this.maxArgs = maxArgs;
    }

    public void _main(String... args) throws Exception {
        List<String> words = new ArrayList<>(Arrays.asList(args).subList(Math.min(1, args.length), args.length));
        PrintStream out = System.out;                     // Gogo routes it to the calling session
        if (words.contains("--help") || words.contains("-h")) {
            out.println(usage);
            return;
        }
        if (words.size() < minArgs || words.size() > maxArgs) {
            throw new IllegalArgumentException(usage.lines().skip(1).findFirst().orElse(usage).trim());
        }
        words.replaceAll(w -> w.equals("\"\"") ? "" : w);
        out.println(run(words));
    }

    /** Does the command; returns what it prints. */
    abstract String run(List<String> args) throws Exception;
}
