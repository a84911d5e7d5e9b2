package org.nbdosgi.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code nbd-osgi-client [-s SOCKET | -h HOST [-p PORT] [-u USER] [-i KEY] [-o SSH_OPTION]...] [-f FILE | COMMAND...]}:
 * runs console commands in a running nbd-osgi and exits with their status (0, or 1 if a command
 * failed; 2 if the server could not be reached). Locally through its console socket (prints the
 * output, on stderr if the command failed); the socket defaults to {@code $NBD_OSGI_CONSOLE}, else
 * the instance's {@code data/console.sock}. Remotely through its SSH console with OpenSSH's
 * {@code ssh} (keys, agent and known_hosts as the user set them up; {@code -o} passes an option of
 * ssh's on, e.g. {@code -o UserKnownHostsFile=FILE}). {@code -f FILE} runs the
 * file's lines as one script ({@code -} reads standard input), stopping at the first failure.
 */
public final class ConsoleClient {
    private ConsoleClient() {
    }

    private static final String USAGE = "usage: nbd-osgi-client [-s SOCKET | -h HOST [-p PORT] [-u USER] [-i KEY] [-o SSH_OPTION]...] [-f FILE | COMMAND [ARGS]...]"
            + "   (for example: nbd-osgi-client nbd:exports)";

    public static void main(String[] args) throws IOException, InterruptedException {
        List<String> words = new ArrayList<>(List.of(args));
        String socket = System.getenv("NBD_OSGI_CONSOLE");
        String host = null;
        String port = "8101";
        String user = null;
        String key = null;
        List<String> sshOptions = new ArrayList<>();
        String file = null;
        while (!words.isEmpty() && words.get(0).startsWith("-") && !words.get(0).equals("--")) {
            String option = words.remove(0);
            if (option.equals("--help")) {
                System.out.println(USAGE);
                System.exit(0);
            }
            if (words.isEmpty()) {
                fail(option + " needs a value (" + USAGE + ")");
            }
            String value = words.remove(0);
            switch (option) {
                case "-s", "--socket" -> socket = value;
                case "-h", "--host" -> host = value;
                case "-p", "--port" -> port = value;
                case "-u", "--user" -> user = value;
                case "-i", "--identity" -> key = value;
                case "-o", "--ssh-option" -> sshOptions.add(value);
                case "-f", "--file" -> file = value;
                default -> fail("unknown option " + option + " (" + USAGE + ")");
            }
        }
        if (!words.isEmpty() && words.get(0).equals("--")) {
            words.remove(0);
        }
        String script;
        if (file != null) {
            if (!words.isEmpty()) {
                fail("-f FILE takes no COMMAND as well (" + USAGE + ")");
            }
            script = file.equals("-") ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8) : read(Path.of(file));
        } else {
            if (words.isEmpty()) {
                fail(USAGE);
            }
            script = commandLine(words);
        }
        if (host != null) {
            System.exit(overSsh(host, port, user, key, sshOptions, script));
        }
        if (socket == null) {
            socket = Path.of(System.getProperty("nbd.home", "."), "data", "console.sock").toString();
        }
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            c.write(ByteBuffer.wrap((script + "\n").getBytes(StandardCharsets.UTF_8)));
            c.shutdownOutput();                             // the end of the script
            InputStream in = Channels.newInputStream(c);
            byte[] all = in.readAllBytes();
            if (all.length == 0) {
                fail("no answer from " + socket);
            }
            int status = all[all.length - 1];
            java.io.PrintStream to = status == 0 ? System.out : System.err;   // a failure's message is an error
            to.write(all, 0, all.length - 1);
            to.flush();
            System.exit(status);
        } catch (IOException e) {
            fail("cannot reach the console at " + socket + ": " + e.getMessage());
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            fail("cannot read " + file + ": " + e.getMessage());
            return null;
        }
    }

    /** The script as the command of an SSH session (no terminal); ssh's own failures (255) become 2. */
    private static int overSsh(String host, String port, String user, String key, List<String> options, String script)
            throws IOException, InterruptedException {
        List<String> ssh = new ArrayList<>(List.of("ssh", "-T", "-p", port, "-o", "LogLevel=ERROR"));
        if (user != null) {
            ssh.addAll(List.of("-l", user));
        }
        if (key != null) {
            ssh.addAll(List.of("-i", key, "-o", "IdentitiesOnly=yes"));
        }
        for (String option : options) {
            ssh.addAll(List.of("-o", option));          // e.g. UserKnownHostsFile=FILE: passed to ssh as they are
        }
        ssh.addAll(List.of("--", host, script));
        Process p;
        try {
            p = new ProcessBuilder(ssh).inheritIO().start();
        } catch (IOException e) {
            fail("cannot run ssh (OpenSSH's client) to reach " + host + ": " + e.getMessage());
            return 2;
        }
        int status = p.waitFor();
        return status == 255 ? 2 : status;
    }

    /**
     * The words as one command line: a single word holding a whole line ({@code 'nbd:exports | grep
     * disk'}, as ssh takes it) as it is; otherwise each word quoted, but for {@code |} and {@code ;}
     * between them, which join commands.
     */
    static String commandLine(List<String> words) {
        if (words.size() == 1 && words.get(0).contains(" ")) {
            return words.get(0);
        }
        StringBuilder line = new StringBuilder();
        for (String w : words) {
            line.append(line.isEmpty() ? "" : " ").append(w.equals("|") || w.equals(";") ? w : quote(w));
        }
        return line.toString();
    }

    /** A word as the Gogo shell reads it back: plain, or in single quotes (taken literally). */
    static String quote(String w) {
        if (w.isEmpty()) {
            return "\"\"";
        }
        if (w.matches("[A-Za-z0-9_./:=,@%+-]+")) {
            return w;
        }
        if (!w.contains("'")) {
            return "'" + w + "'";
        }
        return "\"" + w.replace("\\", "\\\\").replace("\"", "\\\"").replace("$", "\\$") + "\"";
    }

    private static void fail(String message) {
        System.err.println("nbd-osgi-client: " + message);
        System.exit(2);
    }
}
