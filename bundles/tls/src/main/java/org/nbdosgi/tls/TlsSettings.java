package org.nbdosgi.tls;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A TLS server's material as nbdkit takes it: a directory of certificates with nbdkit's file
 * names, and/or a file of pre-shared keys. Either or both; a client that offers a known PSK
 * identity gets a PSK handshake, any other a certificate one.
 *
 * @param certificates the directory with {@value #SERVER_CERT}, {@value #SERVER_KEY}, and
 *                     optionally {@value #CA_CERT} and {@value #CA_CRL}; or null
 * @param verifyPeer   require a client certificate signed by {@value #CA_CERT} (and not revoked
 *                     in {@value #CA_CRL})
 * @param pskFile      {@code identity:hexkey} lines; or null
 * @param authorization allow-lists of client identities per export ({@link TlsAuthorization}); or null
 */
public record TlsSettings(Path certificates, boolean verifyPeer, Path pskFile, Path authorization) {
    public TlsSettings(Path certificates, boolean verifyPeer, Path pskFile) {
        this(certificates, verifyPeer, pskFile, null);
    }

    public static final String CA_CERT = "ca-cert.pem";
    public static final String CA_CRL = "ca-crl.pem";
    public static final String SERVER_CERT = "server-cert.pem";
    public static final String SERVER_KEY = "server-key.pem";

    /** The files whose contents make up the material, present or not: a change to any is new material. */
    public List<Path> files() {
        List<Path> out = new ArrayList<>();
        if (certificates != null) {
            for (String f : List.of(CA_CERT, CA_CRL, SERVER_CERT, SERVER_KEY)) {
                out.add(certificates.resolve(f));
            }
        }
        if (pskFile != null) {
            out.add(pskFile);
        }
        if (authorization != null) {
            out.add(authorization);
        }
        return out;
    }

    /** Reads the authorization file, or gives {@link TlsAuthorization#NONE} when there is none. */
    public TlsAuthorization loadAuthorization() throws TlsException {
        return authorization == null ? TlsAuthorization.NONE : TlsAuthorization.read(authorization);
    }

    /** Checks and reads the files into server credentials; the message of a failure is one line naming the file. */
    public Credentials load() throws TlsException {
        if (certificates == null && pskFile == null) {
            throw new TlsException("TLS needs certificates or a pre-shared key file");
        }
        Path ca = null;
        Path crl = null;
        Path cert = null;
        Path key = null;
        if (certificates != null) {
            if (!Files.isDirectory(certificates)) {
                throw new TlsException(certificates + ": no such directory (expected " + SERVER_CERT + ", "
                        + SERVER_KEY + " and " + CA_CERT + " in it)");
            }
            cert = existing(certificates.resolve(SERVER_CERT));
            key = existing(certificates.resolve(SERVER_KEY));
            Secrets.checkPrivate(key);
            ca = certificates.resolve(CA_CERT);
            if (!Files.exists(ca)) {
                if (verifyPeer) {
                    throw new TlsException(ca + ": no such file (verifying clients needs the CA certificate)");
                }
                ca = null;
            }
            crl = certificates.resolve(CA_CRL);
            if (!Files.exists(crl)) {
                crl = null;
            }
        }
        Map<String, byte[]> psk = pskFile == null ? Map.of() : PskFile.read(pskFile);
        return new Credentials(true, ca, crl, cert, key, verifyPeer && certificates != null, psk);
    }

    private static Path existing(Path file) throws TlsException {
        if (!Files.isRegularFile(file)) {
            throw new TlsException(file + ": no such file");
        }
        return file;
    }
}
