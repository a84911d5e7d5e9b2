package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * The one libext2fs handle ({@code ext2_filsys}) of an export, opened when the export starts and
 * closed when it stops: two read-write handles on one filesystem would corrupt it. libext2fs has no
 * locking of its own, so every call on the handle runs under this object's lock; connections and
 * their requests stay parallel above it, and file data moves outside the lock (see {@link InnerFile}).
 *
 * <p>Control plane for {@link #open} and {@link #close}; data plane for the rest.
 */
final class Filesystem implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Filesystem.class);

    /** A piece of work on the filesystem, run under its lock. */
    interface Locked<T> {
        T run() throws IOException;
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final LayerIo io;
    private final Pointer fs;
    private final int blockSize;
    private final boolean writable;
    // scratch space for libext2fs calls, guarded by the lock
    private final Memory blockBuffer;
    private final Memory extent = new Memory(LibExt2fs.EXTENT_SIZE);
    // the open inner files by inode number: one shared copy of each inode, guarded by the lock
    private final Map<Integer, InnerFile> files = new HashMap<>();
    private boolean closed;

    private Filesystem(LayerIo io, Pointer fs, boolean writable) {
        this.io = io;
        this.fs = fs;
        this.writable = writable;
        this.blockSize = fs.getInt(LibExt2fs.FILSYS_BLOCKSIZE);
        this.blockBuffer = new Memory(3L * blockSize);
    }

    /**
     * Opens the filesystem that {@code lower} holds, read-write when {@code writable}.
     *
     * @throws NbdException with libext2fs's reason (bad superblock, unsupported features ...)
     */
    static Filesystem open(Handle lower, boolean writable) throws IOException {
        LayerIo io = new LayerIo(lower, "ext2 filter");
        long[] out = new long[1];
        int flags = LibExt2fs.FLAG_64BITS | (writable ? LibExt2fs.FLAG_RW : 0);
        long rc = LibExt2fs.ext2fs_open(LibExt2fs.cString("ext2 filter"), flags, 0, 0, io.manager(), out);
        if (rc != 0) {
            throw failure(io, "cannot open the filesystem", rc);
        }
        Pointer fs = new Pointer(out[0]);
        Pointer superblock = fs.getPointer(LibExt2fs.FILSYS_SUPER);
        if (writable && (superblock.getInt(LibExt2fs.SUPER_FEATURE_INCOMPAT) & LibExt2fs.INCOMPAT_RECOVER) != 0) {
            LibExt2fs.ext2fs_free(fs);
            throw new NbdException(NbdError.EINVAL, "the filesystem's journal needs recovery: run e2fsck on the image"
                    + " first, or serve it read-only (-r)");
        }
        return new Filesystem(io, fs, writable);
    }

    int blockSize() {
        return blockSize;
    }

    boolean writable() {
        return writable;
    }

    Pointer pointer() {
        return fs;
    }

    Memory blockBuffer() {
        return blockBuffer;
    }

    Memory extent() {
        return extent;
    }

    /** The handle the filesystem lives on (the export's shared handle on the layer below). */
    Handle lower() {
        return io.lower();
    }

    /** Runs {@code work} under the lock. */
    <T> T locked(Locked<T> work) throws IOException {
        lock.lock();
        try {
            if (closed) {
                throw new NbdException(NbdError.ESHUTDOWN, "the filesystem is closed");
            }
            return work.run();
        } finally {
            lock.unlock();
        }
    }

    boolean isLockedByMe() {
        return lock.isHeldByCurrentThread();
    }

    /** Reads the block bitmap unless it is in memory already (ext2fs_fallocate needs it). Under the lock. */
    void loadBlockBitmap() throws IOException {
        if (fs.getPointer(LibExt2fs.FILSYS_BLOCK_MAP) == null) {
            check("reading the block bitmap", LibExt2fs.ext2fs_read_block_bitmap(fs));
        }
    }

    /** Throws the failure behind a non-zero libext2fs result, described as {@code what}. Under the lock. */
    void check(String what, long rc) throws IOException {
        if (rc != 0) {
            throw failure(io, what, rc);
        }
    }

    private static NbdException failure(LayerIo io, String what, long rc) {
        IOException below = io.takeFailure();
        if (below == null) {
            return Ext2Error.of(what, rc);
        }
        String why = below.getMessage() != null ? below.getMessage() : below.toString();
        return new NbdException(NbdException.errorOf(below), what + ": " + why, below);
    }

    /**
     * Opens the regular file at {@code path} (absolute), sharing it with every other user of the same
     * inode. Each call needs a {@link #release}.
     *
     * @throws NbdException EINVAL naming the path when it does not exist or is not a regular file
     */
    InnerFile openFile(String path) throws IOException {
        return locked(() -> {
            int[] ino = new int[1];
            long rc = LibExt2fs.ext2fs_namei(fs, LibExt2fs.ROOT_INO, LibExt2fs.ROOT_INO,
                    LibExt2fs.cString(path.substring(1)), ino);
            if (rc == LibExt2fs.ET_FILE_NOT_FOUND) {
                throw new NbdException(NbdError.EINVAL, path + ": no such file in the filesystem");
            }
            if (rc == LibExt2fs.ET_NO_DIRECTORY) {
                throw new NbdException(NbdError.EINVAL, path + ": a directory on the path is not a directory");
            }
            check(path, rc);
            InnerFile file = files.get(ino[0]);
            if (file == null) {
                Memory inode = new Memory(LibExt2fs.INODE_SIZE);
                check(path, LibExt2fs.ext2fs_read_inode(fs, ino[0], inode));
                if ((inode.getShort(LibExt2fs.INODE_MODE) & LibExt2fs.S_IFMT) != LibExt2fs.S_IFREG) {
                    throw new NbdException(NbdError.EINVAL, path + ": not a regular file");
                }
                if ((inode.getInt(LibExt2fs.INODE_FLAGS) & LibExt2fs.INLINE_DATA_FL) != 0) {
                    throw new NbdException(NbdError.ENOTSUP, path + ": the file's data is stored inside its inode"
                            + " (inline data), which this filter does not serve");
                }
                file = new InnerFile(this, ino[0], inode);
                if (file.extentMapped()) {
                    file.map(0, file.size(), KnownRuns.MAX_RUNS);   // an extent tree is cheap to learn whole
                }
                files.put(ino[0], file);
            }
            file.retain();
            return file;
        });
    }

    /** One user of {@code file} is done with it. */
    void release(InnerFile file) throws IOException {
        lock.lock();
        try {
            if (file.release()) {
                files.remove(file.inodeNumber());
            }
        } finally {
            lock.unlock();
        }
    }

    /** Writes what libext2fs changed (bitmaps, group descriptors, superblock), then flushes the layer below. */
    void flush() throws IOException {
        locked(() -> {
            if ((fs.getInt(LibExt2fs.FILSYS_FLAGS) & LibExt2fs.FILSYS_DIRTY) != 0) {
                check("flushing the filesystem", LibExt2fs.ext2fs_flush(fs));   // ends with a flush of the layer below
            } else if (io.lower().canFlush()) {
                io.lower().flush(0);
            }
            return null;
        });
    }

    /** Flushes and closes the filesystem. Control plane, after the last connection has gone. */
    @Override
    public void close() throws IOException {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            files.clear();
            long rc = LibExt2fs.ext2fs_close2(fs, 0);
            if (rc != 0) {
                NbdException e = failure(io, "closing the filesystem", rc);
                LOG.warn("ext2: {}", e.getMessage());
                LibExt2fs.ext2fs_free(fs);        // close2 keeps the handle when its final flush fails
                throw e;
            }
        } finally {
            lock.unlock();
        }
    }
}
