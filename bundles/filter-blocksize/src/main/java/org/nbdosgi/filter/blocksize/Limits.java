package org.nbdosgi.filter.blocksize;

import java.util.List;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/**
 * The limits a user gives (0: not given) and, per handle, the ones in force: {@code minblock} at
 * least the layer below's minimum, {@code maxdata} at most its maximum, both multiples of
 * {@code minblock}, as nbdkit's blocksize filter computes them.
 */
record Limits(int minblock, int maxdata, long maxlen) {
    static final int MAX_MINBLOCK = 64 * 1024;

    static List<Parameter> parameters() {
        return List.of(
                Parameter.of("minblock", "alignment and smallest request passed down, a power of 2 up to 64K (default: the layer below's minimum)"),
                Parameter.of("maxdata", "largest read or write passed down, a multiple of minblock (default: the layer below's maximum, at most 64M)"),
                Parameter.of("maxlen", "largest trim, zero, cache or extents request passed down, a multiple of minblock (default 4G-minblock)"));
    }

    static Limits from(Config c) throws ConfigException {
        long minblock = positive(c, "minblock");
        long maxdata = positive(c, "maxdata");
        long maxlen = positive(c, "maxlen");
        if (minblock > 0 && (Long.bitCount(minblock) != 1 || minblock > MAX_MINBLOCK)) {
            throw new ConfigException("minblock: must be a power of 2 up to 64K: " + minblock);
        }
        if (maxdata > BlockSize.MAX_PAYLOAD) {
            throw new ConfigException("maxdata: at most 64M (the largest request a client may send): " + maxdata);
        }
        if (maxlen > 0xffffffffL) {
            throw new ConfigException("maxlen: at most 4G-1 (the protocol's limit): " + maxlen);
        }
        if (minblock > 0 && maxdata % minblock != 0) {
            throw new ConfigException("maxdata: must be a multiple of minblock (" + minblock + "): " + maxdata);
        }
        if (minblock > 0 && maxlen % minblock != 0) {
            throw new ConfigException("maxlen: must be a multiple of minblock (" + minblock + "): " + maxlen);
        }
        return new Limits((int) minblock, (int) maxdata, maxlen);
    }

    private static long positive(Config c, String key) throws ConfigException {
        long v = c.size(key, 0);
        if (c.has(key) && v == 0) {
            throw new ConfigException(key + ": must not be 0");
        }
        return v;
    }

    /** The limits for a handle over a layer with {@code below}'s constraints. */
    Limits over(BlockSize below) {
        int min = Math.max(Math.max(minblock, 1), below.minimum());
        long data = maxdata > 0 ? maxdata : maxlen > 0 ? Math.min(maxlen, BlockSize.MAX_PAYLOAD) : BlockSize.MAX_PAYLOAD;
        data = Math.min(data, below.maximum()) / min * min;
        long len = maxlen > 0 ? maxlen / min * min : 0xffffffffL / min * min;
        return new Limits(min, (int) Math.max(data, min), len);
    }
}
