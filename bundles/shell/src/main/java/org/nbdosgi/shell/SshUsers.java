package org.nbdosgi.shell;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Properties;
import java.util.Set;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.PublicKeyEntryResolver;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may use the SSH console, read at every login (so edits take effect at once):
 * {@code etc/users.properties}, {@code USER = PASSWORD}, and {@code etc/keys.properties},
 * {@code USER = ssh-ed25519 AAAA... [comment]} (an OpenSSH public key line; several keys of one
 * user as {@code USER.2 = ...}). A password written in clear is replaced by its PBKDF2-SHA256
 * hash ({@code {pbkdf2}ITERATIONS:SALT:HASH}) the first time the file is read. Both files are kept
 * readable by their owner only (tightened, with a warning, when found looser). Control plane (SSHD's
 * threads, one login at a time per file).
 */
final class SshUsers {
    private static final Logger LOG = LoggerFactory.getLogger(SshUsers.class);
    private static final String HASHED = "{pbkdf2}";
    private static final int ITERATIONS = 210_000;
    private final Path passwords;
    private final Path keys;

    SshUsers(Path passwords, Path keys) {
        this.passwords = passwords;
        this.keys = keys;
        hashClearPasswords();
    }

    boolean any() {
        return !load(passwords).isEmpty() || !load(keys).isEmpty();
    }

    boolean password(String user, String password, ServerSession session) {
        String stored = hashClearPasswords().getProperty(user);
        boolean ok = stored != null && stored.startsWith(HASHED) && matches(password, stored);
        log(ok, user, "password", session);
        return ok;
    }

    boolean publicKey(String user, PublicKey key, ServerSession session) {
        Properties p = load(keys);
        for (String name : p.stringPropertyNames()) {
            if (name.equals(user) || name.startsWith(user + ".")) {
                try {
                    PublicKey allowed = AuthorizedKeyEntry.parseAuthorizedKeyEntry(p.getProperty(name))
                            .resolvePublicKey(null, PublicKeyEntryResolver.IGNORING);
                    if (allowed != null && KeyUtils.compareKeys(allowed, key)) {
                        return true;
                    }
                } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
                    LOG.warn("{}: the key of {} is not an OpenSSH public key line: {}", keys, name, e.getMessage());
                }
            }
        }
        log(false, user, "key", session);
        return false;
    }

    /** A refusal, at debug (SSHD asks once per key the client offers); a login is logged once it succeeds (SshConsole). */
    private static void log(boolean ok, String user, String how, ServerSession session) {
        if (!ok) {
            LOG.debug("SSH console: {} refused ({}) from {}", user, how, session.getClientAddress());
        }
    }

    /** The passwords file, with any clear password replaced by its hash (and the file rewritten). */
    private synchronized Properties hashClearPasswords() {
        Properties p = load(passwords);
        boolean changed = false;
        for (String user : p.stringPropertyNames()) {
            String value = p.getProperty(user);
            if (!value.startsWith(HASHED)) {
                p.setProperty(user, hash(value));
                changed = true;
            }
        }
        if (changed) {
            try {
                Path tmp = passwords.resolveSibling("." + passwords.getFileName() + ".tmp");
                Files.deleteIfExists(tmp);
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                try (Writer w = Files.newBufferedWriter(tmp)) {
                    p.store(w, " nbd-osgi SSH console users: USER = PASSWORD (hashed when read)");
                }
                Files.move(tmp, passwords, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                LOG.info("{}: clear passwords replaced by their hashes", passwords);
            } catch (IOException e) {
                LOG.error("{}: cannot write the hashed passwords: {}", passwords, e.getMessage());
            }
        }
        return p;
    }

    private static Properties load(Path file) {
        Properties p = new Properties();
        if (Files.isRegularFile(file)) {
            ownerOnly(file);
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException e) {
                LOG.error("cannot read {}: {}", file, e.getMessage());
            }
        }
        return p;
    }

    /** Makes a secret file readable by its owner only, saying so when it was not. */
    static void ownerOnly(Path file) {
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
            if (mode.stream().anyMatch(m -> m.name().startsWith("GROUP") || m.name().startsWith("OTHERS"))) {
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
                LOG.warn("{} was readable by others ({}): made rw------- (it holds secrets)", file, PosixFilePermissions.toString(mode));
            }
        } catch (IOException | UnsupportedOperationException e) {
            LOG.warn("cannot check who may read {}: {}", file, e.getMessage());
        }
    }

    static String hash(String password) {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        return HASHED + ITERATIONS + ":" + Base64.getEncoder().encodeToString(salt) + ":"
                + Base64.getEncoder().encodeToString(pbkdf2(password, salt, ITERATIONS));
    }

    static boolean matches(String password, String stored) {
        String[] parts = stored.substring(HASHED.length()).split(":");
        if (parts.length != 3) {
            return false;
        }
        try {
            byte[] expected = Base64.getDecoder().decode(parts[2]);
            return MessageDigest.isEqual(expected, pbkdf2(password, Base64.getDecoder().decode(parts[1]), Integer.parseInt(parts[0])));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static byte[] pbkdf2(String password, byte[] salt, int iterations) {
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                    .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("PBKDF2WithHmacSHA256 is missing from this Java", e);
        }
    }
}
