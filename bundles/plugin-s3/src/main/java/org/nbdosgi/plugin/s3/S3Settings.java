package org.nbdosgi.plugin.s3;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/**
 * The s3 plugin's parameters, checked. Names follow nbdkit's S3 plugin where they match
 * ({@code endpoint-url}, {@code bucket}, {@code key}, {@code size}, {@code object-size},
 * {@code access-key}, {@code secret-key}, {@code session-token}). Control plane.
 *
 * @param size       the size to create the disk with (-1: open what is there)
 * @param objectSize the object size to create the disk with (-1: the default, or what is there)
 */
record S3Settings(URI endpoint, String region, String bucket, String key, long size, long objectSize,
                  String accessKey, Secret secretKey, Secret sessionToken, boolean pathStyle,
                  int connections, Duration timeout) {

    static final int DEFAULT_OBJECT_SIZE = 1 << 20;
    static final int MIN_OBJECT_SIZE = 4096;
    static final int MAX_OBJECT_SIZE = 32 << 20;

    static List<Parameter> parameters() {
        return List.of(
                Parameter.required("bucket", "the bucket holding the disk"),
                Parameter.required("key", "the disk's object prefix (objects KEY/%016x), or one object served read-only"),
                Parameter.of("endpoint", "URL of an S3-compatible store (default: AWS)").withAliases("endpoint-url"),
                Parameter.of("region", "signing region (default us-east-1)"),
                Parameter.of("size", "create the disk with this size when there is none"),
                Parameter.of("object-size", "bytes per object when creating, a power of 2 from 4K to 32M (default 1M)"),
                Parameter.of("access-key", "access key id (default: the SDK's credential chain)"),
                Parameter.secret("secret-key", "secret access key: KEY, - (standard input), +FILE or -FD (read from a file or descriptor)"),
                Parameter.secret("session-token", "session token of temporary credentials; same forms as secret-key"),
                Parameter.of("path-style", "bucket in the path, not the host name (default: true with endpoint=)"),
                Parameter.of("connections", "HTTP connections to the store at most (default 128)"),
                Parameter.of("timeout", "time one request to the store may take, retries included (default 60s)"));
    }

    /** Secrets arrive resolved: the engine has read {@code secret-key=+FILE} and the other forms. */
    static S3Settings parse(Config c) throws ConfigException {
        URI endpoint = null;
        if (c.has("endpoint")) {
            String e = c.require("endpoint");
            try {
                endpoint = new URI(e);
            } catch (URISyntaxException ex) {
                throw new ConfigException("endpoint: not a URL: " + e);
            }
            if (!"http".equals(endpoint.getScheme()) && !"https".equals(endpoint.getScheme()) || endpoint.getHost() == null) {
                throw new ConfigException("endpoint: expected http://HOST[:PORT] or https://HOST[:PORT], got " + e);
            }
        }
        String key = c.require("key");
        if (key.startsWith("/") || key.endsWith("/")) {
            throw new ConfigException("key: '" + key + "' must not start or end with /");
        }
        long size = c.size("size", -1);
        if (c.has("size") && size <= 0) {
            throw new ConfigException("size: must be more than 0");
        }
        long objectSize = c.size("object-size", -1);
        if (objectSize != -1 && (Long.bitCount(objectSize) != 1 || objectSize < MIN_OBJECT_SIZE || objectSize > MAX_OBJECT_SIZE)) {
            throw new ConfigException("object-size: must be a power of 2 from 4K to 32M, got " + c.get("object-size", ""));
        }
        if (objectSize != -1 && size == -1) {
            throw new ConfigException("object-size: only used to create a disk, together with size=");
        }
        long chunk = objectSize == -1 ? DEFAULT_OBJECT_SIZE : objectSize;
        if (size != -1 && size % chunk != 0) {
            throw new ConfigException("size: must be a multiple of object-size (" + chunk + " bytes)");
        }
        Secret secret = secret(c, "secret-key");
        String accessKey = c.has("access-key") ? c.require("access-key") : null;
        if ((accessKey == null) != (secret == null)) {
            throw new ConfigException(accessKey == null ? "secret-key: needs access-key= too" : "access-key: needs secret-key= too");
        }
        Secret token = secret(c, "session-token");
        if (token != null && accessKey == null) {
            throw new ConfigException("session-token: needs access-key= and secret-key= too");
        }
        int connections = c.integer("connections", 128);
        if (connections < 1) {
            throw new ConfigException("connections: must be at least 1");
        }
        Duration timeout = c.duration("timeout", Duration.ofSeconds(60));
        if (timeout.isZero() || timeout.isNegative()) {
            throw new ConfigException("timeout: must be more than 0");
        }
        return new S3Settings(endpoint, c.get("region", "us-east-1"), c.require("bucket"), key, size, objectSize,
                accessKey, secret, token, c.bool("path-style", endpoint != null), connections, timeout);
    }

    private static Secret secret(Config c, String key) throws ConfigException {
        if (!c.has(key)) {
            return null;
        }
        String value = c.get(key, "");
        if (value.isEmpty()) {
            throw new ConfigException(key + ": is empty");
        }
        return new Secret(value);
    }

    /** Where the disk lives, for messages: {@code s3://bucket/key}. */
    String where() {
        return "s3://" + bucket + "/" + key;
    }

    /** Which disk in which store: the same for a successor only if it serves the same disk. */
    String disk() {
        return (endpoint == null ? "aws" : endpoint.toString()) + " " + region + " " + where();
    }
}
