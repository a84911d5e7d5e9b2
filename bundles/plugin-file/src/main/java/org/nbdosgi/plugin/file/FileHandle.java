package org.nbdosgi.plugin.file;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.common.libc.LibC;
import org.nbdosgi.plugin.file.NativeFd.Outcome;

/**
 * One connection's view of one file or block device. It holds two descriptors of its own: the
 * JDK's channel for reads, writes and fdatasync, and a native one (O_DIRECT under cache=none) for
 * fallocate, SEEK_DATA/SEEK_HOLE, fadvise and ioctls. {@link #open} and {@link #close} are control
 * plane; the data operations run in parallel on any thread and take no lock.
 */
final class FileHandle implements Handle {
    private static final int HOLE = Extents.HOLE | Extents.ZERO;
    /** The page cache's unit on the platforms we run on (x86-64, arm64 with 4 KiB pages). */
    private static final int PAGE = 4096;

    private final FileTarget target;
    private final FileChannel channel;
    private final NativeFd fd;
    private final Io io;
    private final Fallbacks fallbacks;
    private final boolean writable;
    private final boolean uncached;
    private final long size;
    private final BlockSize blockSize;
    private final boolean rotational;
    private final boolean inMemory;
    private final MappedReads mapped;

    private FileHandle(FileTarget target, FileChannel channel, NativeFd fd, Io io, Fallbacks fallbacks, boolean writable,
                       boolean uncached, boolean inMemory, long size, BlockSize blockSize) {
        this.target = target;
        this.channel = channel;
        this.fd = fd;
        this.io = io;
        this.fallbacks = fallbacks;
        this.writable = writable;
        this.uncached = uncached;
        this.size = size;
        this.blockSize = blockSize;
        this.rotational = target.rotational();
        this.inMemory = inMemory;
        // cache=none keeps reads out of the page cache; a block device's channel has no size to map by
        this.mapped = uncached || target.blockDevice() || size == 0 ? null
                : new MappedReads(channel, size, inMemory, MappedReads.WINDOW_SHIFT);
    }

    /**
     * Opens {@code target} read-write, or read-only when {@code readOnly} or when the file refuses
     * writing (permissions, a read-only file system, an immutable file).
     */
    static FileHandle open(FileTarget target, FileOptions options, boolean readOnly, Fallbacks fallbacks,
                           BufferPool bounce, DiskReads diskReads) throws IOException {
        Path path = target.path();
        boolean writable = !readOnly;
        FileChannel channel;
        try {
            channel = writable ? FileChannel.open(path, READ, WRITE) : FileChannel.open(path, READ);
        } catch (IOException e) {
            if (!writable || !refusesWriting(e)) {
                throw FileTarget.problem(path, e);
            }
            writable = false;
            try {
                channel = FileChannel.open(path, READ);
            } catch (IOException again) {
                throw FileTarget.problem(path, again);
            }
        }
        NativeFd fd = null;
        try {
            boolean direct = options.cache() == FileOptions.Cache.NONE && fallbacks.directIo();
            try {
                fd = NativeFd.open(path, writable, direct);
            } catch (NativeFd.OpenException e) {
                if (!direct || e.errno() != LibC.EINVAL) {
                    throw new NbdException(NbdError.fromErrno(e.errno()), path + ": " + Errno.describe(e.errno()), e);
                }
                fallbacks.noDirectIo();
                direct = false;
                fd = NativeFd.open(path, writable, false);
            }
            if (options.advice() != FileOptions.Advice.NORMAL) {
                int errno = fd.advise(0, 0, options.advice().value());
                if (errno != 0) {
                    fallbacks.adviceRefused(options.advice(), Errno.describe(errno));
                }
            }
            long size = target.blockDevice() ? fd.ioctl(LibC.BLKGETSIZE64, true) : channel.size();
            int ioBlock = target.blockDevice() ? sectorSize(fd, LibC.BLKPBSZGET) : fileSystemBlock(path);
            int directAlign = target.blockDevice() ? sectorSize(fd, LibC.BLKSSZGET) : ioBlock;

            Io buffered = new ChannelIo(channel, path);
            if (options.advice() != FileOptions.Advice.NORMAL && !direct) {
                buffered = new NativeIo(fd, buffered);
            }
            boolean uncached = options.cache() == FileOptions.Cache.NONE;
            boolean inMemory = target.inMemory();
            Io io;
            if (uncached) {
                io = new UncachedIo(buffered, fd, direct, directAlign, fallbacks, bounce);
            } else if (inMemory) {
                io = buffered;                                   // nothing to wait for
            } else {
                io = new CacheFirstReads(fd, buffered, fallbacks, diskReads);
            }
            // advertise the O_DIRECT alignment only where every byte stays reachable with it
            int minimum = direct && size % directAlign == 0 ? directAlign : 1;
            BlockSize bs = new BlockSize(minimum, Math.max(ioBlock, minimum), BlockSize.MAX_PAYLOAD);
            return new FileHandle(target, channel, fd, io, fallbacks, writable, uncached, inMemory, size, bs);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel, fd);
            throw e;
        }
    }

    private static boolean refusesWriting(IOException e) {
        if (e instanceof AccessDeniedException) {
            return true;
        }
        String reason = e instanceof FileSystemException f ? String.valueOf(f.getReason()) : "";
        return reason.contains("Read-only file system") || reason.contains("Operation not permitted");
    }

    /** A block device's sector size, 512 if the ioctl gives nothing sensible. */
    private static int sectorSize(NativeFd fd, long request) throws NbdException {
        return powerOfTwoOr(fd.ioctl(request, false), 512);
    }

    /** The file system's block size (statvfs f_bsize), 4096 if it is not a power of two from 512 to 64 KiB. */
    private static int fileSystemBlock(Path path) throws IOException {
        return powerOfTwoOr(Files.getFileStore(path).getBlockSize(), 4096);
    }

    private static int powerOfTwoOr(long value, int fallback) {
        return value >= 512 && value <= 65536 && Long.bitCount(value) == 1 ? (int) value : fallback;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public BlockSize blockSize() {
        return blockSize;
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    @Override
    public boolean canFlush() {
        return true;
    }

    @Override
    public boolean canTrim() {
        return writable;
    }

    @Override
    public Support canZero() {
        return Support.NATIVE;
    }

    @Override
    public boolean canFastZero() {
        return true;
    }

    @Override
    public boolean canExtents() {
        return true;
    }

    @Override
    public Support canFua() {
        return Support.NATIVE;
    }

    /** One page cache per file, and fdatasync on any descriptor covers every connection's writes. */
    @Override
    public boolean canMultiConn() {
        return true;
    }

    @Override
    public Support canCache() {
        return uncached ? Support.NONE : Support.NATIVE;
    }

    @Override
    public boolean isRotational() {
        return rotational;
    }

    /** A file in RAM (tmpfs) never waits for a device: its requests may run on the connection's thread. */
    @Override
    public boolean isNonBlocking() {
        return inMemory;
    }

    /** A file on a device waits for it in pread and pwrite: its requests run on platform workers. */
    @Override
    public boolean blocksInKernel() {
        return !inMemory;
    }

    /**
     * A buffered write of whole pages, without FUA, lands in the page cache: the kernel reads
     * nothing first (it would for part of a page that is not cached) and syncs nothing. Not under
     * cache=none, whose writes reach the device.
     */
    @Override
    public boolean writesToCache(long offset, long length, int flags) {
        return inMemory || (!uncached && ((offset | length) & (PAGE - 1)) == 0 && !Flags.has(flags, Flags.FUA));
    }

    /** Whole from the page cache or not at all (preadv2 RWF_NOWAIT); never under cache=none, whose descriptor is O_DIRECT. */
    @Override
    public boolean readCached(ByteBuffer buf, long offset, int flags) throws IOException {
        if (uncached || !buf.isDirect() || !fallbacks.cachedReads()) {
            return false;
        }
        int cached = fd.readCached(buf, offset);
        if (cached < 0) {
            fallbacks.noCachedReads();
        }
        return cached == buf.remaining();
    }

    /** The file's pages themselves, mapped ({@link MappedReads}): what the page cache holds, never under cache=none. */
    @Override
    public ByteBuffer[] lend(long offset, int length, int flags) throws IOException {
        try {
            return mapped == null ? null : mapped.lend(offset, length);
        } catch (IOException e) {
            throw IoErrors.translate(target.path(), "mmap", e);
        }
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        io.read(buf, offset);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        io.write(buf, offset);
        syncIfFua(flags);
    }

    @Override
    public void flush(int flags) throws IOException {
        sync();
    }

    /** PUNCH_HOLE; where the file system cannot, trim is advisory and does nothing. */
    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        if (fallbacks.punchHole() && punchHole(offset, length) == Outcome.UNSUPPORTED) {
            fallbacks.noPunchHole();
        }
        syncIfFua(flags);
    }

    /**
     * The fastest way the file system offers: a hole when the client allows one (MAY_TRIM), else
     * ZERO_RANGE, else a hole filled again by fallocate (so the range stays allocated). When none
     * works, ENOTSUP: the engine then writes zeros, or, for FAST_ZERO, the client hears ENOTSUP.
     */
    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        if (!zeroNatively(offset, length, flags)) {
            throw new NbdException(NbdError.ENOTSUP, target.path() + ": no fast way to zero this range");
        }
        syncIfFua(flags);
    }

    private boolean zeroNatively(long offset, long length, int flags) throws NbdException {
        if (Flags.has(flags, Flags.MAY_TRIM) && fallbacks.punchHole()) {
            Outcome o = punchHole(offset, length);
            if (o == Outcome.DONE) {
                return true;
            }
            if (o == Outcome.UNSUPPORTED) {
                fallbacks.noPunchHole();
            }
        }
        // on a block device ZERO_RANGE may make the kernel write zeros itself: not fast
        boolean zeroRangeIsFast = !target.blockDevice();
        if (fallbacks.zeroRange() && (zeroRangeIsFast || !Flags.has(flags, Flags.FAST_ZERO))) {
            Outcome o = fd.fallocate(LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE, offset, length);
            if (o == Outcome.DONE) {
                return true;
            }
            if (o == Outcome.UNSUPPORTED) {
                fallbacks.noZeroRange();
            }
        }
        if (!target.blockDevice() && fallbacks.punchHole() && canAllocate(offset, length)) {
            Outcome o = punchHole(offset, length);
            if (o == Outcome.UNSUPPORTED) {
                fallbacks.noPunchHole();
            } else if (o == Outcome.DONE) {
                Outcome a = fd.fallocate(LibC.FALLOC_FL_KEEP_SIZE, offset, length);
                if (a == Outcome.DONE) {
                    return true;
                }
                if (a == Outcome.UNSUPPORTED) {
                    fallbacks.noAllocate();
                }
            }
        }
        return false;
    }

    /**
     * Whether fallocate(KEEP_SIZE) works, tried on the range itself the first time: a hole punched
     * that cannot be filled again would change the data of a request then refused with ENOTSUP.
     */
    private boolean canAllocate(long offset, long length) throws NbdException {
        if (!fallbacks.allocate() || fallbacks.allocateWorks()) {
            return fallbacks.allocate();
        }
        Outcome o = fd.fallocate(LibC.FALLOC_FL_KEEP_SIZE, offset, length);
        if (o == Outcome.UNSUPPORTED) {
            fallbacks.noAllocate();
            return false;
        }
        if (o == Outcome.DONE) {
            fallbacks.allocateWorked();
        }
        return true;
    }

    private Outcome punchHole(long offset, long length) throws NbdException {
        return fd.fallocate(LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /**
     * Data and holes as lseek(SEEK_DATA/SEEK_HOLE) finds them; the last extent may reach past the
     * request, which saves clients a round trip. With REQ_ONE, the first extent only.
     */
    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        if (!fallbacks.seekData()) {
            extents.add(offset, length, 0);
            return;
        }
        boolean one = Flags.has(flags, Flags.REQ_ONE);
        long end = offset + length;
        long pos = offset;
        while (pos < end && !extents.isFull()) {
            long data;
            try {
                data = fd.seekData(pos);
            } catch (NbdException e) {
                if (e.error() != NbdError.EINVAL && e.error() != NbdError.ENOTSUP) {
                    throw e;
                }
                fallbacks.noSeekData();
                extents.add(pos, end - pos, 0);
                return;
            }
            if (data < 0) {
                checkNotShrunk(pos);
                extents.add(pos, size - pos, HOLE);                  // only a hole up to the end of the file
                return;
            }
            if (data > pos) {
                extents.add(pos, data - pos, HOLE);
            } else {
                long hole = fd.seekHole(pos);
                if (hole < 0) {
                    checkNotShrunk(pos);
                    hole = size;
                }
                extents.add(pos, hole - pos, 0);
                data = hole;
            }
            pos = data;
            if (one) {
                return;
            }
        }
    }

    /** ENXIO from lseek inside the export's size means the file was truncated underneath us. */
    private void checkNotShrunk(long pos) throws IOException {
        long now = target.blockDevice() ? size : channel.size();
        if (pos >= now) {
            throw new NbdException(NbdError.EIO, target.path() + ": offset " + pos
                    + " is past the end of the file (" + now + " bytes): truncated while served?");
        }
    }

    /** posix_fadvise(WILLNEED): the kernel reads the range ahead into the page cache. */
    @Override
    public void cache(long offset, long length, int flags) {
        fd.advise(offset, length, LibC.POSIX_FADV_WILLNEED);
    }

    private void syncIfFua(int flags) throws IOException {
        if (Flags.has(flags, Flags.FUA)) {
            sync();
        }
    }

    private void sync() throws IOException {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw IoErrors.translate(target.path(), "fdatasync", e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            fd.close();
        }
    }

    private static void closeQuietly(FileChannel channel, NativeFd fd) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already failing: the first error is the one to report
        }
        if (fd != null) {
            try {
                fd.close();
            } catch (IOException ignored) {
                // as above
            }
        }
    }
}
