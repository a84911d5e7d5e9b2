package org.nbdosgi.engine.cli;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.util.List;

/**
 * systemd socket activation (sd_listen_fds(3), nbdkit-service(1)): when {@code LISTEN_PID} is this
 * process and {@code LISTEN_FDS} is at least 1, file descriptor 3 is a listening socket systemd
 * made. The JDK can only adopt an inherited socket on file descriptor 0
 * ({@link System#inheritedChannel()}), so {@code bin/nbd-osgi} moves it there before starting
 * the JVM ({@code exec 0<&3}). Only the first socket is served, as in nbdkit.
 */
final class SocketActivation {
    /** What systemd sets; a command run in captive mode must not see them. */
    static final List<String> VARIABLES = List.of("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES");

    private SocketActivation() {
    }

    /** Whether systemd passed this process a socket. */
    static boolean inherited() {
        String pid = System.getenv("LISTEN_PID");
        String fds = System.getenv("LISTEN_FDS");
        return pid != null && fds != null && pid.trim().equals(Long.toString(ProcessHandle.current().pid()))
                && fds.trim().matches("[1-9][0-9]*");
    }

    /** The listening socket systemd passed (moved to standard input by bin/nbd-osgi). */
    static ServerSocketChannel channel() throws IOException {
        Channel c = System.inheritedChannel();
        if (c instanceof ServerSocketChannel s) {
            return s;
        }
        throw new IOException("socket activation: standard input is not the listening socket"
                + " (start nbd-osgi through bin/nbd-osgi, which moves file descriptor 3 there)");
    }
}
