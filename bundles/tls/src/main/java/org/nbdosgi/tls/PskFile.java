package org.nbdosgi.tls;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * nbdkit's (and GnuTLS's, qemu's) pre-shared key file: one {@code identity:hexkey} line per
 * client. Blank lines and lines starting with {@code #} are skipped. Errors name the line, never
 * the key.
 */
public final class PskFile {
    private PskFile() {
    }

    /** The keys by identity; the file must not be readable by other users. */
    public static Map<String, byte[]> read(Path file) throws TlsException {
        Secrets.checkPrivate(file);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TlsException(file + ": " + e.getMessage());
        }
        return parse(lines, file.toString());
    }

    static Map<String, byte[]> parse(List<String> lines, String source) throws TlsException {
        Map<String, byte[]> keys = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = source + " line " + (i + 1) + ": ";
            int colon = line.indexOf(':');
            if (colon <= 0 || colon == line.length() - 1) {
                throw new TlsException(where + "expected identity:hexkey");
            }
            String identity = line.substring(0, colon);
            String hex = line.substring(colon + 1).strip();
            byte[] key;
            try {
                key = HexFormat.of().parseHex(hex);
            } catch (IllegalArgumentException e) {
                throw new TlsException(where + "the key of '" + identity + "' is not an even number of hexadecimal digits");
            }
            if (keys.put(identity, key) != null) {
                throw new TlsException(where + "identity '" + identity + "' appears twice");
            }
        }
        if (keys.isEmpty()) {
            throw new TlsException(source + ": no keys in it (expected identity:hexkey lines)");
        }
        return keys;
    }
}
