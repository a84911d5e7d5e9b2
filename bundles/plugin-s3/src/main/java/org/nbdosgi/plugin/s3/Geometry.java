package org.nbdosgi.plugin.s3;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Properties;

import org.nbdosgi.api.ConfigException;

/**
 * The shape of a disk in a bucket, and where it is recorded. A disk under prefix {@code KEY} is
 * the objects {@code KEY/%016x} (the object's number in lower-case hex, as nbdkit's S3 plugin
 * names them), each {@code objectSize} bytes; a missing object reads as zeros. The size and the
 * object size are recorded in the small object {@code KEY/nbd-osgi.properties} when the disk is
 * created, so every process that opens the disk later sees the same disk.
 *
 * <p>Without that object and without {@code size=}, {@code key} may name one existing object,
 * served read-only as it is ({@code single}), as nbdkit's S3 plugin does without {@code size=}.
 */
record Geometry(long size, int objectSize, boolean single) {
    static final String METADATA = "nbd-osgi.properties";
    private static final int FORMAT = 1;
    private static final HexFormat HEX = HexFormat.of();

    static String metadataKey(String key) {
        return key + "/" + METADATA;
    }

    /** The name of object number {@code index} of the disk under {@code key}. */
    static String objectKey(String key, long index) {
        return key + "/" + HEX.toHexDigits(index);
    }

    /** The number of the object a listed key names, or -1 when it names something else. */
    static long objectIndex(String key, String listed) {
        int start = key.length() + 1;
        if (listed.length() != start + 16 || !listed.startsWith(key) || listed.charAt(key.length()) != '/') {
            return -1;
        }
        for (int i = start; i < listed.length(); i++) {
            char ch = listed.charAt(i);
            if (!(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f')) {
                return -1;
            }
        }
        return HEX.fromHexDigitsToLong(listed, start, listed.length());
    }

    byte[] encode() {
        return ("# nbd-osgi s3 disk: objects KEY/%016x of object-size bytes each; a missing object reads as zeros\n"
                + "format=" + FORMAT + "\nsize=" + size + "\nobject-size=" + objectSize + "\n").getBytes(StandardCharsets.UTF_8);
    }

    static Geometry decode(String where, ByteBuffer bytes) throws ConfigException {
        Properties p = new Properties();
        try {
            p.load(new StringReader(StandardCharsets.UTF_8.decode(bytes).toString()));
            int format = Integer.parseInt(p.getProperty("format", "0"));
            if (format != FORMAT) {
                throw new ConfigException(where + "/" + METADATA + ": format " + format + " is not one this plugin knows (" + FORMAT + ")");
            }
            long size = Long.parseLong(p.getProperty("size"));
            long objectSize = Long.parseLong(p.getProperty("object-size"));
            if (size <= 0 || Long.bitCount(objectSize) != 1 || objectSize < S3Settings.MIN_OBJECT_SIZE
                    || objectSize > S3Settings.MAX_OBJECT_SIZE || size % objectSize != 0) {
                throw new ConfigException(where + "/" + METADATA + ": size " + size + " and object-size " + objectSize + " do not fit");
            }
            return new Geometry(size, (int) objectSize, false);
        } catch (IOException | NumberFormatException | NullPointerException e) {
            throw new ConfigException(where + "/" + METADATA + ": not an nbd-osgi s3 disk description (" + e.getMessage() + ")");
        }
    }

    long objects() {
        return single ? 1 : size / objectSize;
    }
}
