package org.nbdosgi.plugin.file;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a file's file system turned out not to support, learned from EOPNOTSUPP (or EINVAL for
 * O_DIRECT) the first time and kept for the export, so later requests go straight to the next
 * fallback instead of failing the same call again. Shared by every connection to the file; each
 * flag only ever changes one way (supported to unsupported, or untried to seen working), so plain
 * volatile fields are enough.
 */
final class Fallbacks {
    private static final Logger LOG = LoggerFactory.getLogger(Fallbacks.class);

    private final String file;
    private volatile boolean punchHole = true;
    private volatile boolean zeroRange = true;
    private volatile boolean allocate = true;
    private volatile boolean allocateWorks;
    private volatile boolean seekData = true;
    private volatile boolean directIo = true;
    private volatile boolean adviceTaken = true;
    private volatile boolean cachedReads = true;

    Fallbacks(String file) {
        this.file = file;
    }

    boolean punchHole() {
        return punchHole;
    }

    boolean zeroRange() {
        return zeroRange;
    }

    boolean allocate() {
        return allocate;
    }

    /** Whether fallocate(KEEP_SIZE) has been seen to work on this file. */
    boolean allocateWorks() {
        return allocateWorks;
    }

    void allocateWorked() {
        allocateWorks = true;
    }

    boolean seekData() {
        return seekData;
    }

    boolean directIo() {
        return directIo;
    }

    void noPunchHole() {
        if (punchHole) {
            punchHole = false;
            LOG.debug("{}: fallocate(PUNCH_HOLE) is not supported: trim does nothing, zero does not punch", file);
        }
    }

    void noZeroRange() {
        if (zeroRange) {
            zeroRange = false;
            LOG.debug("{}: fallocate(ZERO_RANGE) is not supported: zero punches and reallocates, or writes zeros", file);
        }
    }

    void noAllocate() {
        if (allocate) {
            allocate = false;
            LOG.debug("{}: fallocate(0) is not supported", file);
        }
    }

    void noSeekData() {
        if (seekData) {
            seekData = false;
            LOG.debug("{}: lseek(SEEK_DATA) is not supported: extents report everything as data", file);
        }
    }

    /** fadvise= is only a hint: the export is served anyway, and the refusal logged once. */
    void adviceRefused(FileOptions.Advice advice, String why) {
        if (adviceTaken) {
            adviceTaken = false;
            LOG.debug("{}: posix_fadvise({}) failed: {}; served without the hint", file, advice, why);
        }
    }

    /** Whether reads can ask for cached data only (preadv2 RWF_NOWAIT). */
    boolean cachedReads() {
        return cachedReads;
    }

    void noCachedReads() {
        if (cachedReads) {
            cachedReads = false;
            LOG.debug("{}: preadv2(RWF_NOWAIT) is not supported: reads wait for the disk on the request's thread", file);
        }
    }

    void noDirectIo() {
        if (directIo) {
            directIo = false;
            LOG.debug("{}: O_DIRECT is not supported: cache=none drops pages after each request instead", file);
        }
    }
}
