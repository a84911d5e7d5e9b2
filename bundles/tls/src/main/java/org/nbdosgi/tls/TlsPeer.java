package org.nbdosgi.tls;

import java.util.List;

/**
 * What a finished handshake established about the other side.
 *
 * @param version    the protocol, e.g. {@code TLSv1.3}
 * @param cipher     the cipher suite, e.g. {@code TLS_AES_256_GCM_SHA384}
 * @param identities who the peer proved to be, most specific first: {@code psk:NAME} for a
 *                   pre-shared key, or for a verified certificate {@code subject:DN} (RFC 2253)
 *                   followed by its subject alternative names ({@code dns:}, {@code email:},
 *                   {@code uri:}, {@code ip:}); empty for a client that showed no credentials
 */
public record TlsPeer(String version, String cipher, List<String> identities) {
    public TlsPeer {
        identities = List.copyOf(identities);
    }

    /** The identity to show: the first one, or {@code anonymous}. */
    public String identity() {
        return identities.isEmpty() ? "anonymous" : identities.get(0);
    }
}
