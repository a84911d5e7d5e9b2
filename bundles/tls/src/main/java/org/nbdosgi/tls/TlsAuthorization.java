package org.nbdosgi.tls;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.security.auth.x500.X500Principal;

/**
 * Which client identities may use which export: the allow-lists of an authorization file
 * ({@code --tls-authz=FILE}), one rule per line:
 *
 * <pre>
 * # EXPORT  IDENTITY
 * disk1     psk:alice
 * disk1     subject:CN=laptop,O=Example
 * disk1     dns:backup.example.com
 * *         psk:admin          (every export)
 * ""        psk:bob            (the export named "")
 * </pre>
 *
 * An identity is {@code psk:NAME}, {@code subject:DN} (compared as distinguished names, so
 * spacing and case of the attribute names do not matter), or a subject alternative name of a
 * verified certificate: {@code dns:}, {@code email:}, {@code uri:}, {@code ip:}. An export with
 * no rule is open to every client TLS admits; an export with rules admits only those identities.
 * Immutable.
 */
public final class TlsAuthorization {
    /** No rules: every export open. */
    public static final TlsAuthorization NONE = new TlsAuthorization(Map.of());
    /** The export name that stands for every export. */
    public static final String EVERY_EXPORT = "*";

    private final Map<String, List<String>> rules;   // export -> normalized identities

    private TlsAuthorization(Map<String, List<String>> rules) {
        this.rules = rules;
    }

    /** Reads an authorization file; a bad line is a one-line error naming file and line. */
    public static TlsAuthorization read(Path file) throws TlsException {
        try {
            return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
        } catch (IOException e) {
            throw new TlsException(file + ": " + e.getMessage());
        }
    }

    static TlsAuthorization parse(List<String> lines, String source) throws TlsException {
        Map<String, List<String>> rules = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = source + " line " + (i + 1) + ": ";
            String[] parts = line.split("\\s+", 2);
            if (parts.length < 2) {
                throw new TlsException(where + "expected EXPORT IDENTITY");
            }
            String export = parts[0].equals("\"\"") ? "" : parts[0];
            rules.computeIfAbsent(export, e -> new ArrayList<>()).add(normalize(parts[1].strip(), where));
        }
        rules.replaceAll((k, v) -> List.copyOf(v));
        return new TlsAuthorization(Map.copyOf(rules));
    }

    /**
     * An allow-list written in one value ({@code tls.allow} in an export's configuration):
     * identities separated by {@code ;}.
     */
    public static List<String> parseList(String value, String source) throws TlsException {
        List<String> out = new ArrayList<>();
        if (value != null) {
            for (String s : value.split(";")) {
                if (!s.isBlank()) {
                    out.add(normalize(s.strip(), source + ": "));
                }
            }
        }
        return List.copyOf(out);
    }

    /** The identities allowed on {@code export} by this file (its own rules and those for every export). */
    public List<String> rulesFor(String export) {
        List<String> out = new ArrayList<>(rules.getOrDefault(export, List.of()));
        out.addAll(rules.getOrDefault(EVERY_EXPORT, List.of()));
        return out;
    }

    /** Whether a client with {@code identities} (as {@link TlsPeer#identities()}) matches an allow-list. */
    public static boolean matches(Collection<String> allowed, List<String> identities) {
        for (String id : identities) {
            String n;
            try {
                n = normalize(id, "");
            } catch (TlsException e) {
                continue;                                   // nothing can be allowed to match it
            }
            if (allowed.contains(n)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The relative names of a canonical DN in sorted order: people write a DN most specific part
     * first (RFC 2253) or last (OpenSSL's {@code /O=Example/CN=laptop}), and both name the same
     * subject here.
     */
    private static String sortedRdns(String canonical) {
        String[] rdns = canonical.split("(?<!\\\\),");
        java.util.Arrays.sort(rdns);
        return String.join(",", rdns);
    }

    /** One spelling per identity, so that equal identities compare equal. */
    static String normalize(String identity, String where) throws TlsException {
        int colon = identity.indexOf(':');
        if (colon <= 0) {
            throw new TlsException(where + "'" + identity + "' is not KIND:VALUE (psk:, subject:, dns:, email:, uri:, ip:)");
        }
        String kind = identity.substring(0, colon).toLowerCase(Locale.ROOT);
        String value = identity.substring(colon + 1).strip();
        if (value.isEmpty()) {
            throw new TlsException(where + "'" + identity + "' has no value");
        }
        return kind + ":" + switch (kind) {
            case "psk", "uri" -> value;
            case "dns", "email" -> value.toLowerCase(Locale.ROOT);
            case "subject" -> {
                try {
                    yield sortedRdns(new X500Principal(value).getName(X500Principal.CANONICAL));
                } catch (IllegalArgumentException e) {
                    throw new TlsException(where + "'" + value + "' is not a distinguished name: " + e.getMessage());
                }
            }
            case "ip" -> {
                if (!value.matches("[0-9a-fA-F:.]+")) {
                    throw new TlsException(where + "'" + value + "' is not an IP address");
                }
                try {
                    yield InetAddress.getByName(value).getHostAddress();
                } catch (UnknownHostException e) {
                    throw new TlsException(where + "'" + value + "' is not an IP address");
                }
            }
            default -> throw new TlsException(where + "unknown identity kind '" + kind
                    + "' (psk:, subject:, dns:, email:, uri:, ip:)");
        };
    }
}
