package org.nbdosgi.plugin.nbd;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/**
 * The nbd plugin's parameters, checked: where the upstream server is (exactly one of {@code uri},
 * {@code socket}, {@code hostname}), which export, how many connections, and TLS. Control plane.
 */
record NbdSettings(String uri, String socket, String hostname, String port, String export, boolean dynamicExport,
                   int connections, int retry, Duration connectTimeout,
                   Tls tls, String tlsCertificates, boolean tlsVerify, String tlsUsername, String tlsPsk) {

    /** libnbd's TLS modes, as nbdkit's {@code tls=} names them. */
    enum Tls {
        OFF(LibNbd.TLS_DISABLE), ON(LibNbd.TLS_ALLOW), REQUIRE(LibNbd.TLS_REQUIRE);

        final int libnbd;

        Tls(int libnbd) {
            this.libnbd = libnbd;
        }
    }

    static final int MAX_CONNECTIONS = 64;

    static List<Parameter> parameters() {
        return List.of(
                Parameter.of("uri", "NBD URI of the upstream server: nbd://HOST[:PORT]/EXPORT, nbd+unix:///EXPORT?socket=PATH, nbds://..."),
                Parameter.of("socket", "Unix socket of the upstream server"),
                Parameter.of("hostname", "host name or address of the upstream server (TCP)"),
                Parameter.of("port", "TCP port or service name of the upstream server (default 10809)"),
                Parameter.of("export", "export name on the upstream server (default \"\"); with uri=, the URI names it"),
                Parameter.of("dynamic-export", "true: ask the upstream server for the export name each client asked for"),
                Parameter.of("connections", "upstream connections per client connection, used when the upstream offers multi-conn (default 1)"),
                Parameter.of("retry", "retry a failed connection attempt N more times, one second apart (default 0)"),
                Parameter.of("connect-timeout", "give up connecting (and the TLS and NBD handshakes) after this long (default 30s)"),
                Parameter.of("tls", "off, on (use TLS if the server offers it) or require; default off, or on when another tls option is given"),
                Parameter.of("tls-certificates", "directory of X.509 client certificates (ca-cert.pem, client-cert.pem, client-key.pem)"),
                Parameter.of("tls-verify", "false: do not verify the server's certificate name (default true)"),
                Parameter.of("tls-username", "user name for TLS (X.509 or PSK; default: the local user)"),
                Parameter.of("tls-psk", "file of TLS pre-shared keys (psktool format: username:hexkey)"));
    }

    static NbdSettings parse(Config c) throws ConfigException {
        String uri = c.get("uri", null);
        String socket = c.get("socket", null);
        String hostname = c.get("hostname", null);
        int where = (uri != null ? 1 : 0) + (socket != null ? 1 : 0) + (hostname != null ? 1 : 0);
        if (where != 1) {
            throw new ConfigException(where == 0 ? "give the upstream server: uri=, socket= or hostname="
                    : "give only one of uri=, socket= and hostname=");
        }
        if (c.has("port") && hostname == null) {
            throw new ConfigException("port: only with hostname= (a URI names its own port)");
        }
        boolean dynamic = c.bool("dynamic-export", false);
        if (c.has("export") && (uri != null || dynamic)) {
            throw new ConfigException("export: not with " + (dynamic ? "dynamic-export=true" : "uri= (the URI names the export)"));
        }
        if (uri != null && !uri.matches("(?i)nbds?(\\+(unix|tcp|vsock))?://.*")) {
            throw new ConfigException("uri: '" + uri + "' is not an NBD URI (nbd://, nbds://, nbd+unix://, nbds+unix://)");
        }
        int connections = c.integer("connections", 1);
        if (connections < 1 || connections > MAX_CONNECTIONS) {
            throw new ConfigException("connections: must be between 1 and " + MAX_CONNECTIONS + ": " + connections);
        }
        int retry = c.integer("retry", 0);
        if (retry < 0) {
            throw new ConfigException("retry: must not be negative: " + retry);
        }
        Duration timeout = c.duration("connect-timeout", Duration.ofSeconds(30));
        if (timeout.isNegative() || timeout.isZero()) {
            throw new ConfigException("connect-timeout: must be positive");
        }
        boolean anyTls = c.has("tls-certificates") || c.has("tls-verify") || c.has("tls-username") || c.has("tls-psk");
        Tls tls = c.choice("tls", Tls.class, anyTls ? Tls.ON : Tls.OFF);
        if (tls == Tls.OFF && anyTls) {
            throw new ConfigException("tls: other tls options need tls=on or tls=require");
        }
        if (c.has("tls-certificates") && c.has("tls-psk")) {
            throw new ConfigException("tls-psk: not with tls-certificates= (one or the other)");
        }
        readable("tls-psk", c.get("tls-psk", null), false);
        readable("tls-certificates", c.get("tls-certificates", null), true);
        return new NbdSettings(uri, socket, hostname, c.get("port", "10809"), c.get("export", ""), dynamic,
                connections, retry, timeout, tls, c.get("tls-certificates", null), c.bool("tls-verify", true),
                c.get("tls-username", null), c.get("tls-psk", null));
    }

    private static void readable(String key, String path, boolean directory) throws ConfigException {
        if (path != null && !(directory ? Files.isDirectory(Path.of(path)) : Files.isReadable(Path.of(path)))) {
            throw new ConfigException(key + ": " + path + (directory ? " is not a directory" : " cannot be read"));
        }
    }

    /**
     * The URI with its export (the path after the authority) replaced by {@code export},
     * percent-encoded: for {@code dynamic-export=true}, where the client's name wins over the URI's.
     */
    static String withExport(String uri, String export) {
        int authority = uri.indexOf("://") + 3;
        int pathStart = uri.indexOf('/', authority);
        int query = uri.indexOf('?', authority);
        if (pathStart < 0 || (query >= 0 && query < pathStart)) {
            pathStart = query >= 0 ? query : uri.length();
        }
        int pathEnd = query >= 0 ? query : uri.length();
        StringBuilder b = new StringBuilder(uri.substring(0, pathStart)).append('/');
        for (byte c : export.getBytes(StandardCharsets.UTF_8)) {
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "-._~/".indexOf(c) >= 0) {
                b.append((char) c);
            } else {
                b.append('%').append(String.format("%02X", c & 0xff));
            }
        }
        return b.append(uri, Math.max(pathEnd, pathStart), uri.length()).toString();
    }

    /** Where the upstream is, for messages: the URI, the socket path or HOST:PORT. */
    String target() {
        return uri != null ? uri : socket != null ? socket : hostname + ":" + port;
    }
}
