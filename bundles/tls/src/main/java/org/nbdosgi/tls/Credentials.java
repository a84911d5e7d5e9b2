package org.nbdosgi.tls;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a {@link TlsContext} is made of. Any part may be absent (null or empty) if the role does
 * not use it.
 *
 * @param server         the server's side of the handshake, else the client's
 * @param caCertificate  the CA that signs the peer's certificate
 * @param revocationList certificates the CA revoked (PEM CRLs), checked with the CA
 * @param certificate    this side's certificate chain (PEM, own certificate first)
 * @param key            this side's private key (PEM, not encrypted)
 * @param verifyPeer     require the peer's certificate and verify it against the CA
 * @param psk            pre-shared keys by identity: a server accepts any of them, a client uses its one
 */
public record Credentials(boolean server, Path caCertificate, Path revocationList, Path certificate, Path key,
                          boolean verifyPeer, Map<String, byte[]> psk) {
    public Credentials {
        psk = psk == null ? Map.of() : Map.copyOf(psk);
    }
}
