package org.nbdosgi.shell;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;

/**
 * The SSH console's host key (ECDSA P-256, made by the JDK on first start): {@code etc/host.key},
 * the private key (PKCS#8) and the public key (X.509), one base64 line each. The file is created
 * with mode 0600 before a byte is written, and a looser mode found later is tightened.
 */
final class HostKey {
    private HostKey() {
    }

    static KeyPair load(Path file) throws IOException {
        try {
            if (Files.isRegularFile(file)) {
                SshUsers.ownerOnly(file);
                List<String> lines = Files.readAllLines(file).stream().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
                if (lines.size() != 2) {
                    throw new IOException(file + " is not an nbd-osgi host key (delete it to have a new one made)");
                }
                KeyFactory ec = KeyFactory.getInstance("EC");
                return new KeyPair(ec.generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(lines.get(1)))),
                        ec.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(lines.get(0)))));
            }
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = g.generateKeyPair();
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, "# the nbd-osgi SSH console's host key (private: keep it so)\n"
                    + Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded()) + "\n"
                    + Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n");
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            return pair;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
