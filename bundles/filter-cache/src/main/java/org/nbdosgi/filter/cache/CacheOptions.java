package org.nbdosgi.filter.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Units;

/**
 * The filter's parameters, checked. {@code maxSize} 0 means unlimited. Immutable; control plane.
 *
 * @param blockSize the cache block size asked for (a cache raises it to the layer below's minimum)
 * @param dir       where the cache files go: {@code $TMPDIR}, else /var/tmp
 */
record CacheOptions(CacheMode mode, CacheOnRead cacheOnRead, int blockSize, long maxSize, int highPercent,
                    int lowPercent, Path dir) {
    static final int MIN_BLOCK_SIZE = 4096;
    static final int DEFAULT_BLOCK_SIZE = 64 * 1024;
    /** A block is the unit of every read-modify-write and transfer: larger than one NBD request makes no sense. */
    static final int MAX_BLOCK_SIZE = 32 * 1024 * 1024;
    /** Fewer blocks than this in cache-max-size would leave reclaim nothing to choose from. */
    static final int MIN_BLOCKS = 16;

    /** Reads the parameters; {@code tmpdir} is the value of $TMPDIR (null or empty: /var/tmp). */
    static CacheOptions from(Config config, String tmpdir) throws ConfigException {
        Path dir = Path.of(tmpdir == null || tmpdir.isEmpty() ? "/var/tmp" : tmpdir);
        if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
            throw new ConfigException("cannot keep the cache in " + dir + ": not a writable directory (set TMPDIR)");
        }
        CacheMode mode = config.choice("cache", CacheMode.class, CacheMode.WRITEBACK);
        CacheOnRead onRead = CacheOnRead.parse(config.get("cache-on-read", null));
        int blockSize = blockSize(config, dir);
        long maxSize = config.size("cache-max-size", 0);
        int high = config.integer("cache-high-threshold", 95);
        int low = config.integer("cache-low-threshold", 80);
        if (low <= 0 || high > 100 || low >= high) {
            throw new ConfigException("cache-low-threshold=" + low + ", cache-high-threshold=" + high
                    + ": the thresholds must be percentages with 0 < low < high <= 100");
        }
        if (config.has("cache-max-size")) {
            checkMaxSize(maxSize, blockSize);
        }
        return new CacheOptions(mode, onRead, blockSize, maxSize, high, low, dir);
    }

    static void checkMaxSize(long maxSize, int blockSize) throws ConfigException {
        if (maxSize / blockSize < MIN_BLOCKS) {
            throw new ConfigException("cache-max-size: " + Units.formatSize(maxSize) + " is too small: it must hold at least "
                    + MIN_BLOCKS + " cache blocks of " + Units.formatSize(blockSize) + " ("
                    + Units.formatSize((long) MIN_BLOCKS * blockSize) + ")");
        }
    }

    private static int blockSize(Config config, Path dir) throws ConfigException {
        if (!config.has("cache-min-block-size")) {
            return Math.max(DEFAULT_BLOCK_SIZE, fileSystemBlockSize(dir));
        }
        long size = config.size("cache-min-block-size", DEFAULT_BLOCK_SIZE);
        if (size < MIN_BLOCK_SIZE || size > MAX_BLOCK_SIZE || Long.bitCount(size) != 1) {
            throw new ConfigException("cache-min-block-size: " + Units.formatSize(size)
                    + " must be a power of 2 from 4K to 32M");
        }
        return (int) size;
    }

    /** The block size of the file system holding {@code dir}, when it is a sane power of two. */
    private static int fileSystemBlockSize(Path dir) {
        try {
            long b = Files.getFileStore(dir).getBlockSize();
            return b > 0 && b <= MAX_BLOCK_SIZE && Long.bitCount(b) == 1 ? (int) b : MIN_BLOCK_SIZE;
        } catch (IOException | UnsupportedOperationException e) {
            return MIN_BLOCK_SIZE;
        }
    }

    boolean limited() {
        return maxSize > 0;
    }
}
