package org.nbdosgi.filter.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Units;
import org.nbdosgi.common.libc.LibC;

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

    /**
     * The cache block: as asked (default 64K), but never smaller than the unit in which the file
     * system allocates a file in {@code dir}: a hole punched in part of such a unit gives nothing
     * back (a tmpfs with transparent huge pages allocates 2M at a time), and cache-max-size would not hold.
     */
    private static int blockSize(Config config, Path dir) throws ConfigException {
        long size = config.size("cache-min-block-size", DEFAULT_BLOCK_SIZE);
        if (size < MIN_BLOCK_SIZE || size > MAX_BLOCK_SIZE || Long.bitCount(size) != 1) {
            throw new ConfigException("cache-min-block-size: " + Units.formatSize(size)
                    + " must be a power of 2 from 4K to 32M");
        }
        return (int) Math.max(size, allocationUnit(dir));
    }

    /**
     * The allocation unit of a file in {@code dir} (its st_blksize; a probe file is made and removed),
     * else the file system's block size, when it is a sane power of two.
     */
    private static int allocationUnit(Path dir) {
        long b;
        try {
            b = Files.getFileStore(dir).getBlockSize();
            if (LibC.supported()) {
                Path probe = Files.createTempFile(dir, "nbd-osgi-cache-", ".probe");
                try {
                    b = Math.max(b, LibC.allocationUnit(probe));
                } finally {
                    Files.deleteIfExists(probe);
                }
            }
        } catch (IOException | RuntimeException | LinkageError e) {         // no statx or no JNA
            return MIN_BLOCK_SIZE;
        }
        return b > 0 && b <= MAX_BLOCK_SIZE && Long.bitCount(b) == 1 ? (int) b : MIN_BLOCK_SIZE;
    }

    boolean limited() {
        return maxSize > 0;
    }
}
