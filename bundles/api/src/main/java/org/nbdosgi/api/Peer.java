package org.nbdosgi.api;

import java.net.InetAddress;
import java.util.List;

/**
 * Who is at the other end of a client connection, as far as the server knows: for filters that
 * decide by it (the ip filter) and for statistics per client.
 *
 * @param unixSocket    the client came over a Unix domain socket
 * @param address       the client's IP address over TCP; null otherwise
 * @param uid           over a Unix socket, the client process's user id (SO_PEERCRED); -1 if unknown
 * @param gid           over a Unix socket, its group id; -1 if unknown
 * @param pid           over a Unix socket, its process id; -1 if unknown
 * @param tlsVersion    the TLS protocol ({@code TLSv1.3}), null without TLS
 * @param tlsCipher     the TLS cipher suite, null without TLS
 * @param tlsIdentities what TLS proved about the client, most specific first: {@code psk:NAME},
 *                      or {@code subject:DN} and the certificate's alternative names; empty without
 *                      TLS or when the client showed no credentials
 */
public record Peer(boolean unixSocket, InetAddress address, int uid, int gid, int pid,
                   String tlsVersion, String tlsCipher, List<String> tlsIdentities) {
    /** Nothing known: a handle the server opens for itself. */
    public static final Peer NONE = new Peer(false, null, -1, -1, -1, null, null, List.of());

    public Peer {
        tlsIdentities = tlsIdentities == null ? List.of() : List.copyOf(tlsIdentities);
    }

    /** The identity TLS proved ({@code psk:alice}, {@code subject:CN=...}), or null. */
    public String tlsIdentity() {
        return tlsIdentities.isEmpty() ? null : tlsIdentities.get(0);
    }

    /** The same peer after a TLS handshake. */
    public Peer withTls(String version, String cipher, List<String> identities) {
        return new Peer(unixSocket, address, uid, gid, pid, version, cipher, identities);
    }
}
