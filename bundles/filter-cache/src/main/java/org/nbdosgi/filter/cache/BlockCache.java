package org.nbdosgi.filter.cache;

import static org.nbdosgi.filter.cache.BlockStates.CLEAN;
import static org.nbdosgi.filter.cache.BlockStates.DIRTY;
import static org.nbdosgi.filter.cache.BlockStates.NOT_CACHED;
import static org.nbdosgi.filter.cache.BlockStates.TRIMMED;
import static org.nbdosgi.filter.cache.BlockStates.ZERO;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.StampedLock;

import org.nbdosgi.api.Extents;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Units;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.common.buffers.Zeros;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One cache: the blocks of one export (one export name of the layer below) in one cache file, shared
 * by every connection that reads or writes them. This class holds the parts and serves reads,
 * prefetch (NBD_CMD_CACHE), block status, flush and the final write-back; {@link CacheWrites}
 * serves write, zero and trim. Reads of cached blocks share the block's lock; everything else locks
 * the blocks it changes exclusively. Data plane, except {@link #open} and {@link #close}.
 */
final class BlockCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BlockCache.class);
    /** The most bytes one fill or write-back moves at once. */
    private static final int MAX_RUN_BYTES = 8 * 1024 * 1024;
    /** The most blocks one block status reply looks at, so a huge request stays cheap. */
    private static final int MAX_EXTENT_BLOCKS = 1 << 16;

    final CacheOptions options;
    final Geometry g;
    final BlockStates states;
    final BlockLocks locks;
    final Space space;
    final CacheFile file;
    final Lower lower;
    /** Direct buffers for moving blocks between the layer below and the cache file (fills, read-modify-write, write-back). */
    final BufferPool scratch = new BufferPool(64 * 1024, CacheOptions.MAX_BLOCK_SIZE * 4, 16L << 20, 1);
    final WriteBack writeBack;
    final Reclaimer reclaimer;
    final CacheWrites writes;
    /** The most blocks one request handles under one lock run (and so the most it reserves at once). */
    final int maxRun;
    private final String name;
    private final AtomicBoolean warnedFileFull = new AtomicBoolean();
    // bytes of client reads served from the cache file (or known zeros) and from the layer below
    private final LongAdder hitBytes = new LongAdder();
    private final LongAdder missBytes = new LongAdder();

    private BlockCache(CacheOptions options, Geometry g, Lower lower, CacheFile file, String name) {
        this.options = options;
        this.g = g;
        this.lower = lower;
        this.file = file;
        this.name = name;
        this.states = new BlockStates((int) g.blocks());
        this.locks = new BlockLocks(g.blocks());
        this.space = options.limited()
                ? Space.limited(options.maxSize(), g.blockSize(), options.highPercent(), options.lowPercent())
                : Space.unlimited();
        long run = Math.min(locks.stripes(), Math.max(1, MAX_RUN_BYTES / g.blockSize()));
        this.maxRun = (int) Math.max(1, space.isLimited() ? Math.min(run, space.capacity() / 4) : run);
        this.writeBack = new WriteBack(g, states, locks, file, lower, scratch, maxRun);
        this.reclaimer = new Reclaimer(g, states, locks, space, file, writeBack, maxRun);
        this.writes = new CacheWrites(this);                  // last: it reads the parts above
    }

    /**
     * A cache over {@code lower}, with its own new cache file. Control plane.
     *
     * @param name the export name of the layer below, for messages
     */
    static BlockCache open(CacheOptions options, Lower lower, String name) throws IOException {
        int blockSize = Math.max(options.blockSize(), lower.blockSize().minimum());
        Geometry g = new Geometry(lower.size(), blockSize);
        // three bytes of state per block, on the heap: refuse what would not fit comfortably
        if (g.blocks() > Integer.MAX_VALUE - 8 || 3 * g.blocks() > Runtime.getRuntime().maxMemory() / 4) {
            throw new NbdException(NbdError.EINVAL, "cache: the export (" + Units.formatSize(g.size())
                    + ") has too many cache blocks of " + Units.formatSize(blockSize) + " to keep their states in memory"
                    + ": raise cache-min-block-size");
        }
        if (options.limited()) {
            try {
                CacheOptions.checkMaxSize(options.maxSize(), blockSize);
            } catch (org.nbdosgi.api.ConfigException e) {
                throw new NbdException(NbdError.EINVAL, "cache: " + e.getMessage() + " (the layer below needs blocks of "
                        + Units.formatSize(blockSize) + ")");
            }
        }
        CacheFile file = CacheFile.create(options.dir(), g.blocks() * blockSize);
        if (options.limited() && !file.canPunch()) {
            file.close();
            throw new NbdException(NbdError.ENOTSUP, "cache: cache-max-size needs a file system that can punch holes "
                    + "(fallocate PUNCH_HOLE), and " + options.dir() + " cannot: set TMPDIR to a directory on ext4, xfs, btrfs or tmpfs");
        }
        LOG.debug("cache: '{}': {} in blocks of {}, cache file in {}, limit {}", name, Units.formatSize(g.size()),
                Units.formatSize(blockSize), options.dir(), options.limited() ? Units.formatSize(options.maxSize()) : "none");
        return new BlockCache(options, g, lower, file, name);
    }

    // ---- reads

    /** Fills {@code buf} with the export's bytes at {@code offset}: cached blocks from the cache file, the rest from below. */
    void read(ByteBuffer buf, long offset) throws IOException {
        long end = offset + buf.remaining();
        long pos = offset;
        while (pos < end) {
            long b = g.block(pos);
            if (states.get(b) != NOT_CACHED) {
                pos = readCached(buf, offset, pos, end, b);
                continue;
            }
            long last = g.block(end - 1);
            long runEnd = b + 1;
            while (runEnd <= last && runEnd - b < maxRun && states.get(runEnd) == NOT_CACHED) {
                runEnd++;
            }
            long stop = Math.min(end, g.start(runEnd));
            missBytes.add(stop - pos);
            if (options.cacheOnRead().active()) {
                fill(b, (int) (runEnd - b), buf, offset);
            } else {
                lower.read(slice(buf, offset, pos, stop), pos);
            }
            pos = stop;
        }
    }

    /** Serves the part of the request inside block {@code b} (cached when last looked); returns where it ends. */
    private long readCached(ByteBuffer buf, long bufOffset, long pos, long end, long b) throws IOException {
        long stop = Math.min(end, g.end(b));
        ByteBuffer dst = slice(buf, bufOffset, pos, stop);
        StampedLock lock = locks.of(b);
        long stamp = lock.readLock();
        try {
            byte s = states.get(b);
            if (BlockStates.occupies(s)) {
                file.read(dst, pos);
                states.touch(b);
                hitBytes.add(stop - pos);
                return stop;
            }
            if (BlockStates.readsZeros(s)) {
                Zeros.fill(dst);
                hitBytes.add(stop - pos);
                return stop;
            }
        } finally {
            lock.unlockRead(stamp);
        }
        missBytes.add(stop - pos);
        if (options.cacheOnRead().active()) {                  // reclaimed since: as any miss
            fill(b, 1, buf, bufOffset);
        } else {
            lower.read(dst, pos);
        }
        return stop;
    }

    /**
     * Brings blocks [first, first + count) into the cache from the layer below (those not cached
     * by the time their locks are held) and copies what overlaps {@code client} (which starts at
     * export offset {@code clientOffset}; null for a prefetch). A read finding the cache full of
     * dirty blocks that cannot be written back is still served, from below, without caching.
     */
    void fill(long first, int count, ByteBuffer client, long clientOffset) throws IOException {
        boolean install = true;
        if (client == null) {
            reclaimer.reserve(count);
        } else {
            install = reclaimer.tryReserve(count);
        }
        long reserved = install ? count : 0;
        try (BlockLocks.Run run = locks.lockRun(first, count)) {
            long b = first;
            long stop = first + count;
            while (b < stop) {
                byte s = states.get(b);
                if (s != NOT_CACHED) {
                    copyCached(b, s, client, clientOffset);
                    b++;
                    continue;
                }
                long e = b + 1;
                while (e < stop && states.get(e) == NOT_CACHED) {
                    e++;
                }
                reserved -= fillLocked(b, e, client, clientOffset, install);
                b = e;
            }
        } finally {
            space.release(reserved);
        }
        reclaimer.maybeReclaim();
    }

    /** Reads [b, e) from below, into the cache file if {@code install}; returns how many blocks were installed. */
    private int fillLocked(long b, long e, ByteBuffer client, long clientOffset, boolean install) throws IOException {
        long from = g.start(b);
        long to = g.end(e - 1);
        ByteBuffer buf = scratch.acquire((int) (to - from));
        try {
            lower.read(buf, from);
            if (client != null) {
                copyOverlap(buf, from, client, clientOffset);
            }
            if (!install || !keep(buf, from)) {
                return 0;
            }
            for (long k = b; k < e; k++) {
                states.set(k, CLEAN);
                states.touch(k);
            }
            return (int) (e - b);
        } finally {
            scratch.release(buf);
        }
    }

    /** Stores data read from below; a cache file that cannot take it (full disk) only costs the caching. */
    private boolean keep(ByteBuffer buf, long offset) {
        try {
            file.write(buf.duplicate(), offset);
            return true;
        } catch (IOException e) {
            file.punch(offset, buf.remaining());
            if (warnedFileFull.compareAndSet(false, true)) {
                LOG.warn("cache: '{}': reads are served but no longer all cached: {}", name, e.getMessage());
            }
            return false;
        }
    }

    /** Copies the part of cached block {@code b} that overlaps the client's buffer (lock held). */
    private void copyCached(long b, byte s, ByteBuffer client, long clientOffset) throws IOException {
        if (client == null) {
            return;
        }
        long from = Math.max(g.start(b), clientOffset);
        long to = Math.min(g.end(b), clientOffset + client.remaining());
        if (from >= to) {
            return;
        }
        ByteBuffer dst = slice(client, clientOffset, from, to);
        if (BlockStates.occupies(s)) {
            file.read(dst, from);
            states.touch(b);
        } else {
            Zeros.fill(dst);
        }
    }

    /** Copies the overlap of {@code src} (export offset {@code srcOffset}) into {@code dst} (export offset {@code dstOffset}). */
    static void copyOverlap(ByteBuffer src, long srcOffset, ByteBuffer dst, long dstOffset) {
        long from = Math.max(srcOffset, dstOffset);
        long to = Math.min(srcOffset + src.remaining(), dstOffset + dst.remaining());
        if (from < to) {
            dst.put(dst.position() + (int) (from - dstOffset), src, src.position() + (int) (from - srcOffset), (int) (to - from));
        }
    }

    /** The part of {@code buf} (which holds export offset {@code bufOffset} at its position) for [from, to). */
    static ByteBuffer slice(ByteBuffer buf, long bufOffset, long from, long to) {
        return buf.slice(buf.position() + (int) (from - bufOffset), (int) (to - from));
    }

    /** NBD_CMD_CACHE: brings the range into the cache, whatever cache-on-read says. */
    void prefetch(long offset, long length) throws IOException {
        if (length == 0) {
            return;
        }
        long b = g.block(offset);
        long last = g.block(offset + length - 1);
        while (b <= last) {
            if (states.get(b) != NOT_CACHED) {
                b++;
                continue;
            }
            long e = b + 1;
            while (e <= last && e - b < maxRun && states.get(e) == NOT_CACHED) {
                e++;
            }
            fill(b, (int) (e - b), null, 0);
            b = e;
        }
    }

    // ---- block status

    /**
     * The layer below's extents, except where the cache has what the layer below has not seen yet:
     * dirty blocks are data, zeroed ones read as zeros, trimmed ones are holes reading as zeros
     * (otherwise a copy tool would skip data written to a hole of the layer below). The states are
     * looked at before the layer below is asked, so a block written back in between is still
     * described as data, never as the hole it replaced.
     */
    void extents(long offset, long length, int flags, Extents out) throws IOException {
        if (states.dirtyBlocks() == 0 || length == 0) {
            lower.extents(offset, length, flags, out);
            return;
        }
        long first = g.block(offset);
        long last = Math.min(g.block(offset + length - 1), first + MAX_EXTENT_BLOCKS - 1);
        byte[] seen = new byte[(int) (last - first + 1)];
        for (int i = 0; i < seen.length; i++) {
            seen[i] = states.get(first + i);
        }
        long stop = Math.min(offset + length, g.end(last));
        Extents below = new Extents(offset, stop);
        lower.extents(offset, stop - offset, flags, below);
        long pos = offset;
        for (int i = 0; i < below.count() && pos < stop; i++) {
            long end = below.offset(i) + below.length(i);
            while (pos < end) {
                long b = g.block(pos);
                byte s = seen[(int) (b - first)];
                long until = Math.min(end, g.end(b));
                if (!BlockStates.isDirty(s)) {               // as below, up to the next block with news
                    while (until < end && !BlockStates.isDirty(seen[(int) (g.block(until) - first)])) {
                        until = Math.min(end, g.end(g.block(until)));
                    }
                }
                out.add(pos, until - pos, switch (s) {
                    case DIRTY -> 0;
                    case ZERO -> Extents.ZERO;
                    case TRIMMED -> Extents.HOLE | Extents.ZERO;
                    default -> below.type(i);
                });
                pos = until;
            }
        }
    }

    /**
     * qemu:allocation-depth: 1 where the block exists only here (dirty, zeroed or trimmed, not yet
     * written back), 2 where the data is the layer below's (cached clean or not cached) and the layer
     * below has it allocated, 0 where neither has anything (a hole below, nothing pending here).
     */
    void allocationDepth(long offset, long length, int flags, Extents out) throws IOException {
        long first = g.block(offset);
        long last = Math.min(g.block(offset + length - 1), first + MAX_EXTENT_BLOCKS - 1);
        long stop = Math.min(offset + length, g.end(last));
        Extents below = new Extents(offset, stop);
        lower.extents(offset, stop - offset, flags, below);
        long pos = offset;
        for (int i = 0; i < below.count() && pos < stop; i++) {
            long end = below.offset(i) + below.length(i);
            int belowDepth = (below.type(i) & Extents.HOLE) != 0 ? 0 : 2;
            while (pos < end) {
                long b = g.block(pos);
                long until = Math.min(end, g.end(b));
                out.add(pos, until - pos, BlockStates.isDirty(states.get(b)) ? 1 : belowDepth);
                pos = until;
            }
        }
    }

    // ---- flush and stop

    /**
     * Writes back everything dirty (as writeback mode's flush does), then flushes the layer below;
     * only once that flush succeeded are the blocks written back clean. If it fails, they stay
     * dirty (the layer below may have dropped them) and the next flush writes them again.
     */
    void writeBackAndFlush() throws IOException {
        List<WriteBack.Written> written = writeBack.all();
        try {
            lower.flush();
        } catch (IOException e) {
            long left = states.dirtyBlocks();
            throw new NbdException(NbdException.errorOf(e), "cache: flushing the layer below failed, " + left + " blocks ("
                    + Units.formatSize(left * g.blockSize()) + ") stay dirty: " + e.getMessage(), e);
        }
        writeBack.settle(written);
    }

    void flushBelow() throws IOException {
        lower.flush();
    }

    long dirtyBlocks() {
        return states.dirtyBlocks();
    }

    long hitBytes() {
        return hitBytes.sum();
    }

    long missBytes() {
        return missBytes.sum();
    }

    /** Bytes of the cache file holding blocks now. */
    long cachedBytes() {
        return space.used() * g.blockSize();
    }

    /** Control plane, the export stopping (drained): writes back what is dirty, in every mode, then drops the cache file. */
    @Override
    public void close() throws IOException {
        try {
            if (states.dirtyBlocks() > 0) {
                writeBackAndFlush();
            }
        } catch (IOException e) {
            long left = states.dirtyBlocks();
            LOG.error("cache: '{}': {} dirty blocks ({}) could not be written back before the cache closed, their data is lost: {}",
                    name, left, Units.formatSize(left * g.blockSize()), e.getMessage());
            throw e;
        } finally {
            file.close();
        }
    }
}
