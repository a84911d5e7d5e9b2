package org.nbdosgi.engine.chain;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.nbdosgi.api.ConfigException;

/**
 * The values of secret parameters ({@code Parameter.secret}), from what the user wrote, in
 * nbdkit's forms: {@code +FILE} reads the file (again at each chain build, so a changed file is
 * taken at the next rewire), {@code -} reads one line of standard input (without echo on a
 * terminal), {@code -FD} reads file descriptor FD to its end; anything else is the value. One
 * trailing newline is dropped. Standard input and inherited descriptors are the command line's:
 * they are read once per parameter and kept for rebuilds; an export from a configuration file or
 * the console must use {@code +FILE} (or the value). Control plane.
 *
 * <p>Written here rather than taken from a library: no OSGi-ready library reads nbdkit's forms,
 * and it is a few lines.
 */
public final class SecretValues {
    private final boolean commandLine;
    private final InputStream stdin;
    private final Map<String, String> readOnce = new HashMap<>();
    private BufferedReader lines;

    /**
     * @param commandLine whether the server was started with a command line (standard input and
     *                    inherited descriptors are then the user's)
     */
    public SecretValues(boolean commandLine, InputStream stdin) {
        this.commandLine = commandLine;
        this.stdin = stdin;
    }

    /** No standard input: for a server without a command line, and for tests. */
    public static SecretValues withoutStandardInput() {
        return new SecretValues(false, InputStream.nullInputStream());
    }

    /** The value of secret parameter {@code key} given as {@code given}. */
    public synchronized String value(String key, String given) throws ConfigException {
        if (given.length() > 1 && given.startsWith("+")) {
            return read(key, Path.of(given.substring(1)), "file " + given.substring(1));
        }
        boolean fd = given.length() > 1 && given.startsWith("-") && given.substring(1).chars().allMatch(Character::isDigit);
        if (!given.equals("-") && !fd) {
            return given;
        }
        if (!commandLine) {
            throw new ConfigException(key + ": '" + given + "' reads " + (fd ? "a file descriptor" : "standard input")
                    + " of the command line, which this export does not have: give " + key + "=+FILE");
        }
        String once = key + "=" + given;
        String known = readOnce.get(once);
        if (known == null) {
            known = fd ? read(key, Path.of("/proc/self/fd", given.substring(1)), "file descriptor " + given.substring(1))
                    : standardInput(key);
            readOnce.put(once, known);
        }
        return known;
    }

    private String standardInput(String key) throws ConfigException {
        Console terminal = System.console();
        if (terminal != null && stdin == System.in) {
            char[] typed = terminal.readPassword("%s: ", key);
            if (typed == null) {
                throw new ConfigException(key + ": nothing was typed");
            }
            return new String(typed);
        }
        try {
            if (lines == null) {
                lines = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
            }
            String line = lines.readLine();
            if (line == null) {
                throw new ConfigException(key + ": '-' reads standard input, which is empty");
            }
            return line;
        } catch (IOException e) {
            throw new ConfigException(key + ": cannot read standard input: " + e.getMessage());
        }
    }

    private static String read(String key, Path from, String what) throws ConfigException {
        String s;
        try (InputStream in = Files.newInputStream(from)) {
            s = new String(in.readAllBytes(), StandardCharsets.UTF_8);       // to the end: a pipe has no size
        } catch (IOException e) {
            throw new ConfigException(key + ": cannot read " + what + ": " + e.getMessage());
        }
        return s.endsWith("\r\n") ? s.substring(0, s.length() - 2) : s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }
}
