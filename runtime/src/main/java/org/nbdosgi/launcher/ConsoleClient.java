package org.nbdosgi.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code nbd-osgi-client [-s SOCKET] COMMAND...}: runs one console command in a running nbd-osgi
 * (through its console socket), prints the output (on stderr if the command failed) and exits with
 * the command's status (0, or 1 if it failed; 2 if the server could not be reached). The socket defaults to {@code $NBD_OSGI_CONSOLE},
 * else the instance's {@code data/console.sock}.
 */
public final class ConsoleClient {
    private ConsoleClient() {
    }

    public static void main(String[] args) throws IOException {
        List<String> words = new ArrayList<>(List.of(args));
        String socket = System.getenv("NBD_OSGI_CONSOLE");
        if (!words.isEmpty() && words.get(0).equals("-s")) {
            if (words.size() < 2) {
                fail("-s needs a socket path");
            }
            socket = words.get(1);
            words = words.subList(2, words.size());
        }
        if (socket == null) {
            socket = Path.of(System.getProperty("nbd.home", "."), "data", "console.sock").toString();
        }
        if (words.isEmpty()) {
            fail("usage: nbd-osgi-client [-s SOCKET] COMMAND [ARGS]...   (for example: nbd-osgi-client nbd:exports)");
        }
        StringBuilder line = new StringBuilder();
        for (String w : words) {
            line.append(line.isEmpty() ? "" : " ").append(quote(w));
        }
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(socket));
            c.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
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
