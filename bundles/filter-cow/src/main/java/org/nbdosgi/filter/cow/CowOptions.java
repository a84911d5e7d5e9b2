package org.nbdosgi.filter.cow;

import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Units;

/**
 * The cow filter's parameters, checked (control plane): the block size, whether reads and
 * prefetches copy what they fetch from below into the overlay, and the overlay's directory
 * ({@code $TMPDIR}, default {@code /var/tmp} as for nbdkit).
 */
record CowOptions(int blockSize, boolean onReadAlways, Path onReadWhileExists, boolean onCache, Path dir) {
    static final int DEFAULT_BLOCK_SIZE = 64 * 1024;
    static final int MIN_BLOCK_SIZE = 4096;
    static final int MAX_BLOCK_SIZE = 32 << 20;

    static CowOptions from(Config c, String tmpdir) throws ConfigException {
        long bs = c.size("cow-block-size", DEFAULT_BLOCK_SIZE);
        if (bs < MIN_BLOCK_SIZE || bs > MAX_BLOCK_SIZE || Long.bitCount(bs) != 1) {
            throw new ConfigException("cow-block-size: " + c.get("cow-block-size", "") + " must be a power of 2 from 4K to 32M");
        }
        String onRead = c.get("cow-on-read", "false");
        boolean always = false;
        Path whileExists = null;
        if (onRead.startsWith("/")) {
            whileExists = Path.of(onRead);
        } else {
            try {
                always = Units.parseBoolean(onRead);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("cow-on-read: '" + onRead + "' is not true, false or an absolute path");
            }
        }
        Path dir = Path.of(tmpdir == null || tmpdir.isBlank() ? "/var/tmp" : tmpdir);
        return new CowOptions((int) bs, always, whileExists, c.bool("cow-on-cache", false), dir);
    }

    /** Whether a read that goes below copies the blocks into the overlay now (a path is looked at on every such read). */
    boolean onRead() {
        return onReadAlways || (onReadWhileExists != null && Files.exists(onReadWhileExists));
    }
}
