package org.nbdosgi.plugin.http;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/**
 * The plugin's parameters, checked: nbdkit's curl plugin's where they apply to HTTP(S). Control
 * plane (export start). The password and the cookie are {@link Secret}s (declared secret: the
 * engine has read their {@code +FILE}, {@code -FD} and {@code -} forms);
 * {@link #toString()} shows neither, nor the URL's query (a presigned URL's signature).
 */
record HttpSettings(URI url, List<String[]> headers, Secret cookie, String user, Secret password, Duration timeout,
                    boolean sslVerify, Path caFile, Path caDir, int connections, boolean followRedirects,
                    HttpClient.Version version) {

    static final int DEFAULT_CONNECTIONS = 16;
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    /** Headers the JDK client writes itself and refuses from callers, and the one every read sets. */
    private static final Set<String> RESERVED_HEADERS = Set.of("host", "connection", "content-length", "expect", "upgrade", "range");

    static List<Parameter> parameters() {
        return List.of(
                Parameter.required("url", "http:// or https:// URL of the disk image"),
                Parameter.repeatable("header", "'Name: value' sent with every request ('Name;' for an empty value)"),
                Parameter.secret("cookie", "cookie sent with every request: COOKIE, +FILE, -FD or - (standard input)"),
                Parameter.of("user", "user name for HTTP authentication (also user@ in the URL)"),
                Parameter.secret("password", "password for HTTP authentication: PASSWORD, +FILE, -FD or - (standard input)"),
                Parameter.of("user-agent", "User-Agent header (default: the JDK's)"),
                Parameter.of("timeout", "how long a request may wait for the server's answer, e.g. 30 or 500ms; 0: forever (default 60s)"),
                Parameter.of("sslverify", "false: accept any certificate for any host (default true)"),
                Parameter.of("cainfo", "PEM file of the certificate authorities to trust instead of the JDK's"),
                Parameter.of("capath", "directory of PEM certificate files to trust instead of the JDK's"),
                Parameter.of("connections", "most requests in flight to the server at once (HTTP/1.1: connections kept alive; default "
                        + DEFAULT_CONNECTIONS + ")"),
                Parameter.of("followlocation", "false: do not follow redirects (default true)"),
                Parameter.of("http-version", "1.1, or 2 (HTTP/2: over https when the server agrees, the default; over http by upgrade)"));
    }

    static HttpSettings parse(Config c) throws ConfigException {
        URI url = parseUrl(c.require("url"));
        String user = c.get("user", null);
        Secret password = c.has("password") ? new Secret(c.get("password", "")) : null;
        String userInfo = url.getRawUserInfo();
        if (userInfo != null) {                              // user[:password]@host: the JDK takes no credentials in a URL
            int colon = userInfo.indexOf(':');
            String inUrl = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
            user = user == null ? inUrl : user;
            if (colon >= 0 && password == null) {
                password = new Secret(decode(userInfo.substring(colon + 1)));
            }
            url = withoutUserInfo(url);
        }
        if (password != null && user == null) {
            throw new ConfigException("password: a password needs a user (user= or user@ in the URL)");
        }
        List<String[]> headers = new ArrayList<>();
        for (String h : c.all("header")) {
            headers.add(header(h));
        }
        if (user != null && headers.stream().anyMatch(h -> h[0].equalsIgnoreCase("Authorization"))) {
            throw new ConfigException("user: user= and an Authorization header both authenticate: give one of them");
        }
        if (c.has("user-agent")) {
            headers.add(new String[] {"User-Agent", checkValue("user-agent", c.get("user-agent", ""))});
        }
        Secret cookie = c.has("cookie") ? new Secret(c.get("cookie", "")) : null;
        if (cookie != null) {
            checkValue("cookie", cookie.reveal());
        }
        Duration timeout = c.duration("timeout", DEFAULT_TIMEOUT);
        int connections = c.integer("connections", DEFAULT_CONNECTIONS);
        if (connections < 1 || connections > 1024) {
            throw new ConfigException("connections: " + connections + " is not between 1 and 1024");
        }
        HttpClient.Version version = switch (c.get("http-version", "default").trim()) {
            case "default" -> url.getScheme().equals("https") ? HttpClient.Version.HTTP_2 : HttpClient.Version.HTTP_1_1;
            case "1.1" -> HttpClient.Version.HTTP_1_1;
            case "2", "2.0" -> HttpClient.Version.HTTP_2;
            default -> throw new ConfigException("http-version: '" + c.get("http-version", "") + "' is not 1.1 or 2");
        };
        Path caFile = c.has("cainfo") ? Path.of(c.get("cainfo", "")) : null;
        Path caDir = c.has("capath") ? Path.of(c.get("capath", "")) : null;
        return new HttpSettings(url, List.copyOf(headers), cookie, user, password, timeout.isZero() ? null : timeout,
                c.bool("sslverify", true), caFile, caDir, connections, c.bool("followlocation", true), version);
    }

    private static URI parseUrl(String text) throws ConfigException {
        URI url;
        try {
            url = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new ConfigException("url: not a URL: " + e.getMessage());
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new ConfigException("url: only http:// and https:// URLs are served (got '" + (scheme.isEmpty() ? text : scheme + ":") + "')");
        }
        if (url.getHost() == null) {
            throw new ConfigException("url: no host in '" + redact(url) + "'");
        }
        return url;
    }

    private static URI withoutUserInfo(URI url) throws ConfigException {
        String authority = url.getRawAuthority();
        return parseUrl(url.getScheme() + "://" + authority.substring(authority.lastIndexOf('@') + 1)
                + (url.getRawPath() == null ? "" : url.getRawPath()) + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()));
    }

    private static String decode(String s) {
        return java.net.URLDecoder.decode(s.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** curl's syntax: {@code Name: value}, or {@code Name;} for a header with an empty value. */
    private static String[] header(String h) throws ConfigException {
        String name;
        String value;
        int colon = h.indexOf(':');
        if (colon > 0) {
            name = h.substring(0, colon).trim();
            value = h.substring(colon + 1).trim();
            if (value.isEmpty()) {
                throw new ConfigException("header: '" + h + "' has no value (curl's way to drop a header it adds; "
                        + "this plugin adds none: for an empty value write '" + name + ";')");
            }
        } else if (h.endsWith(";") && h.length() > 1) {
            name = h.substring(0, h.length() - 1).trim();
            value = "";
        } else {
            throw new ConfigException("header: '" + h + "' is not 'Name: value'");
        }
        if (!name.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
            throw new ConfigException("header: '" + name + "' is not a header name");
        }
        if (RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
            throw new ConfigException("header: " + name + " is set by the plugin itself and cannot be given");
        }
        return new String[] {name, checkValue("header", value)};
    }

    /** A header value: no control characters (they would end the header, or the request); the value itself is not shown. */
    private static String checkValue(String key, String value) throws ConfigException {
        if (value.chars().anyMatch(ch -> (ch < 0x20 && ch != '\t') || ch == 0x7f)) {
            throw new ConfigException(key + ": the value contains a control character");
        }
        return value;
    }

    /** The URL for messages and logs: no user information, no query (it may carry a signature). */
    static String redact(URI url) {
        return url.getScheme() + "://" + url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort())
                + (url.getRawPath() == null ? "" : url.getRawPath()) + (url.getRawQuery() == null ? "" : "?...");
    }

    @Override
    public String toString() {
        return "url=" + redact(url) + ", headers=" + headers.size() + ", cookie=" + (cookie == null ? "none" : "(hidden)")
                + ", user=" + user + ", password=" + (password == null ? "none" : "(hidden)") + ", timeout=" + timeout
                + ", sslverify=" + sslVerify + ", cainfo=" + caFile + ", capath=" + caDir + ", connections=" + connections
                + ", followlocation=" + followRedirects + ", version=" + version;
    }
}
