package org.nbdosgi.plugin.http;

import java.io.Console;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.ConfigException;

/**
 * A secret parameter ({@code password=}, {@code cookie=}) in the forms nbdkit accepts: the value
 * itself, {@code -} (typed on the terminal), {@code +FILE} (read from a file) or {@code -FD} (read
 * from an inherited file descriptor); one trailing newline of a file is dropped. Resolved once, on
 * the control plane when the export starts. {@link #toString()} never shows it, so it cannot reach
 * a log line by accident.
 *
 * <p>The api offers no such lookup (yet), so the plugin does it; the vddk plugin has its own.
 */
final class Secret {
    private final String value;

    private Secret(String value) {
        this.value = value;
    }

    static Secret resolve(String key, String given) throws ConfigException {
        if (given.equals("-")) {
            Console terminal = System.console();
            if (terminal == null) {
                throw new ConfigException(key + ": '-' asks on the terminal, but there is none (use " + key + "=+FILE or " + key + "=-FD)");
            }
            char[] typed = terminal.readPassword("%s: ", key);
            if (typed == null) {
                throw new ConfigException(key + ": nothing was typed");
            }
            return new Secret(new String(typed));
        }
        if (given.startsWith("+") && given.length() > 1) {
            return new Secret(readFrom(key, Path.of(given.substring(1)), "file " + given.substring(1)));
        }
        if (given.matches("-[0-9]+")) {
            return new Secret(readFrom(key, Path.of("/proc/self/fd", given.substring(1)), "file descriptor " + given.substring(1)));
        }
        return new Secret(given);
    }

    private static String readFrom(String key, Path path, String what) throws ConfigException {
        try {
            String s = Files.readString(path, StandardCharsets.UTF_8);
            return s.endsWith("\r\n") ? s.substring(0, s.length() - 2) : s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
        } catch (IOException e) {
            throw new ConfigException(key + ": cannot read " + what + ": " + e.getMessage());
        }
    }

    /** The secret itself, for the request that needs it. */
    String reveal() {
        return value;
    }

    @Override
    public String toString() {
        return "(hidden)";
    }
}
