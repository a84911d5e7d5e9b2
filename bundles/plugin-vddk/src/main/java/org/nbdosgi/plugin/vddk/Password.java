package org.nbdosgi.plugin.vddk;

import java.io.Console;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.ConfigException;

/**
 * A password, read the ways nbdkit reads one: {@code PASSWORD} as given, {@code -} from the
 * terminal, {@code +FILE} from a file, {@code -FD} from an inherited file descriptor (one trailing
 * newline removed). Its {@link #toString()} never shows it, so it cannot leak into a log line.
 */
final class Password {
    private final String secret;

    private Password(String secret) {
        this.secret = secret;
    }

    static Password resolve(String value) throws ConfigException {
        if (value.equals("-")) {
            Console console = System.console();
            if (console == null) {
                throw new ConfigException("password: '-' asks on the terminal, but there is none (use password=+FILE or password=-FD)");
            }
            char[] typed = console.readPassword("password: ");
            if (typed == null) {
                throw new ConfigException("password: no password was typed");
            }
            return new Password(new String(typed));
        }
        if (value.startsWith("+")) {
            return new Password(read(Path.of(value.substring(1)), "file " + value.substring(1)));
        }
        if (value.length() > 1 && value.startsWith("-") && value.substring(1).chars().allMatch(Character::isDigit)) {
            return new Password(read(Path.of("/proc/self/fd", value.substring(1)), "file descriptor " + value.substring(1)));
        }
        return new Password(value);
    }

    private static String read(Path from, String what) throws ConfigException {
        String s;
        try {
            s = new String(Files.readAllBytes(from), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("password: cannot read " + what + ": " + e.getMessage());
        }
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - (s.endsWith("\r\n") ? 2 : 1));
        }
        return s;
    }

    /** The secret itself, for VDDK's connect parameters only. */
    String reveal() {
        return secret;
    }

    @Override
    public String toString() {
        return "(password hidden)";
    }
}
