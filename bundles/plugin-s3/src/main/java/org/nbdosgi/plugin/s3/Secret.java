package org.nbdosgi.plugin.s3;

import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.nbdosgi.api.ConfigException;

/**
 * A secret parameter, read the ways nbdkit reads one: {@code VALUE} as given, {@code -} from the
 * terminal (or from standard input when that is not a terminal), {@code +FILE} from a file,
 * {@code -FD} from an inherited file descriptor; one trailing newline is removed. Its
 * {@link #toString()} never shows it, so it cannot leak into a log line. Control plane.
 */
record Secret(String parameter, String given, String value) {

    /**
     * The secret {@code given} for {@code parameter}, or the value it had when it was read before
     * ({@code known}: {@link #id()} to value, handed over by a predecessor).
     */
    static Secret resolve(String parameter, String given, Map<String, String> known) throws ConfigException {
        String before = known.get(parameter + "=" + given);
        return before != null ? new Secret(parameter, given, before) : new Secret(parameter, given, read(parameter, given));
    }

    /** What identifies how it was given: the parameter and its form (for the hand-over). */
    String id() {
        return parameter + "=" + given;
    }

    private static String read(String parameter, String given) throws ConfigException {
        if (given.equals("-")) {
            Console console = System.console();
            if (console != null) {
                char[] typed = console.readPassword("%s: ", parameter);
                if (typed == null) {
                    throw new ConfigException(parameter + ": nothing was typed");
                }
                return new String(typed);
            }
            return read(parameter, System.in, "standard input");
        }
        if (given.startsWith("+")) {
            Path file = Path.of(given.substring(1));
            try (InputStream in = Files.newInputStream(file)) {
                return read(parameter, in, "file " + file);
            } catch (IOException e) {
                throw new ConfigException(parameter + ": cannot read file " + file + ": " + e.getMessage());
            }
        }
        if (given.length() > 1 && given.startsWith("-") && given.substring(1).chars().allMatch(Character::isDigit)) {
            Path fd = Path.of("/proc/self/fd", given.substring(1));
            try (InputStream in = Files.newInputStream(fd)) {
                return read(parameter, in, "file descriptor " + given.substring(1));
            } catch (IOException e) {
                throw new ConfigException(parameter + ": cannot read file descriptor " + given.substring(1) + ": " + e.getMessage());
            }
        }
        return given;
    }

    private static String read(String parameter, InputStream in, String what) throws ConfigException {
        String s;
        try {
            s = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(parameter + ": cannot read " + what + ": " + e.getMessage());
        }
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - (s.endsWith("\r\n") ? 2 : 1));
        }
        if (s.isEmpty()) {
            throw new ConfigException(parameter + ": " + what + " is empty");
        }
        return s;
    }

    @Override
    public String toString() {
        return parameter + "=(hidden)";
    }
}
