package org.nbdosgi.console;

import java.util.ArrayList;
import java.util.List;

/** A command's words: {@code --help}, {@code --name[=value]} flags, and the positional rest. */
final class Options {
    private final List<String> positional = new ArrayList<>();
    private final List<String> flags = new ArrayList<>();

    Options(String[] args) {
        for (String a : args == null ? new String[0] : args) {
            if (a.startsWith("--")) {
                flags.add(a);
            } else {
                positional.add(a);
            }
        }
    }

    boolean help() {
        return flags.contains("--help") || positional.contains("-h");
    }

    boolean has(String flag) {
        return flags.contains(flag);
    }

    List<String> positional() {
        return positional;
    }

    /** Flags that are not in {@code known}: mistakes worth reporting. */
    List<String> unknown(String... known) {
        List<String> out = new ArrayList<>(flags);
        out.remove("--help");
        out.removeAll(List.of(known));
        return out;
    }
}
