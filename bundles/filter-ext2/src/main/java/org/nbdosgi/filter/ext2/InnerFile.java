package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.util.List;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * One regular file inside the filesystem, shared by every connection that serves it: its size and
 * its inode, kept in native memory where libext2fs updates it as it allocates blocks. It answers
 * one question, where a byte range of the file lives on the layer below, and allocates what a write
 * needs; the data itself is then read and written there directly, outside the filesystem's lock,
 * in one transfer per contiguous run instead of one callback per block. Answers already known
 * ({@link KnownRuns}) need neither the lock nor libext2fs.
 *
 * <p>Data plane. {@link #locate}, {@link #locateForWrite} and {@link #describe} run on any thread;
 * the other methods run under the filesystem's lock.
 */
final class InnerFile {
    /** Most bytes one block status request maps by per-block lookups (indirect block maps). */
    static final long STATUS_BYTES_BY_BLOCK = 64L << 20;

    private final Filesystem fs;
    private final int ino;
    private final Memory inode;
    private final long size;
    private final boolean extentMapped;
    private final KnownRuns known = new KnownRuns();
    private int users;

    InnerFile(Filesystem fs, int ino, Memory inode) {
        this.fs = fs;
        this.ino = ino;
        this.inode = inode;
        this.size = (inode.getInt(LibExt2fs.INODE_SIZE_LOW) & 0xFFFFFFFFL)
                | ((inode.getInt(LibExt2fs.INODE_SIZE_HIGH) & 0xFFFFFFFFL) << 32);
        this.extentMapped = (inode.getInt(LibExt2fs.INODE_FLAGS) & LibExt2fs.EXTENTS_FL) != 0;
    }

    int inodeNumber() {
        return ino;
    }

    long size() {
        return size;
    }

    /** Whether the block map is an extent tree (ext4) rather than indirect blocks (ext2, ext3). */
    boolean extentMapped() {
        return extentMapped;
    }

    /** How many runs of the block map are known. */
    int knownRuns() {
        return known.size();
    }

    /** Where bytes {@code [offset, offset + length)} live: from what is known, else mapped under the lock. */
    List<Run> locate(long offset, long length) throws IOException {
        List<Run> runs = known.find(offset, length);
        return runs != null ? runs : fs.locked(() -> map(offset, length, Integer.MAX_VALUE));
    }

    /** As {@link #locate}, with every block allocated and written first: the lock only when some are not. */
    List<Run> locateForWrite(long offset, long length) throws IOException {
        List<Run> runs = known.find(offset, length);
        if (runs != null && runs.stream().allMatch(r -> r.kind() == Run.Kind.DATA)) {
            return runs;
        }
        return fs.locked(() -> allocate(offset, length));
    }

    /**
     * Runs for a block status reply from {@code offset}: as far as is known, else up to
     * {@code maxRuns} runs mapped under the lock (by per-block lookups, at most
     * {@link #STATUS_BYTES_BY_BLOCK} bytes).
     */
    List<Run> describe(long offset, long length, int maxRuns) throws IOException {
        List<Run> runs = known.find(offset, length);
        if (runs != null) {
            return runs.size() <= maxRuns ? runs : runs.subList(0, maxRuns);
        }
        long span = extentMapped ? length : Math.min(length, STATUS_BYTES_BY_BLOCK);
        return fs.locked(() -> map(offset, span, maxRuns));
    }

    void retain() {
        users++;
    }

    /** Returns true when the last user let go. */
    boolean release() {
        return --users == 0;
    }

    /**
     * Asks libext2fs where bytes {@code [offset, offset + length)} live (a prefix of them when
     * {@code maxRuns} runs are not enough), and remembers the answer.
     */
    List<Run> map(long offset, long length, int maxRuns) throws IOException {
        assert fs.isLockedByMe();
        RunList runs = new RunList(offset, offset + length, fs.blockSize(), maxRuns);
        if (extentMapped) {
            walkExtents(runs);
        } else {
            walkBlocks(runs);
        }
        known.record(runs.runs());
        return runs.runs();
    }

    /**
     * Gives every block of {@code [offset, offset + length)} a place on the layer below: holes get new
     * zeroed blocks, unwritten extents are zeroed and marked written. Returns the runs, all DATA.
     */
    List<Run> allocate(long offset, long length) throws IOException {
        List<Run> runs = map(offset, length, Integer.MAX_VALUE);
        boolean changed = false;
        try {
            for (Run r : runs) {
                if (r.kind() == Run.Kind.HOLE) {
                    changed = true;
                    allocateBlocks(r);
                } else if (r.kind() == Run.Kind.UNWRITTEN) {
                    changed = true;
                    markWritten(r);
                }
            }
        } catch (IOException e) {
            try {
                map(offset, length, Integer.MAX_VALUE);      // so what is known includes what did get allocated
            } catch (IOException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
        if (!changed) {
            return runs;
        }
        List<Run> after = map(offset, length, Integer.MAX_VALUE);
        for (Run r : after) {
            if (r.kind() != Run.Kind.DATA) {
                throw new NbdException(NbdError.EIO, "inode " + ino + ": bytes " + r.offset() + "+" + r.length()
                        + " are still unallocated after allocation");
            }
        }
        return after;
    }

    /** Extent trees get whole ranges at once, zeroed through the layer below; indirect maps block by block. */
    private void allocateBlocks(Run hole) throws IOException {
        long bs = fs.blockSize();
        long first = hole.offset() / bs;
        long end = (hole.end() + bs - 1) / bs;
        if (extentMapped) {
            fs.loadBlockBitmap();
            long rc = LibExt2fs.ext2fs_fallocate(fs.pointer(), LibExt2fs.FALLOCATE_ZERO_BLOCKS | LibExt2fs.FALLOCATE_FORCE_INIT,
                    ino, inode, LibExt2fs.GOAL_ANY, first, end - first);
            // fallocate counts the new blocks in our copy of the inode but leaves writing it to the caller
            long written = LibExt2fs.ext2fs_write_inode(fs.pointer(), ino, inode);
            fs.check("allocating blocks", rc);
            fs.check("writing the inode", written);
            return;
        }
        int[] flags = new int[1];
        long[] physical = new long[1];
        for (long b = first; b < end; b++) {
            fs.check("allocating a block", LibExt2fs.ext2fs_bmap2(fs.pointer(), ino, inode, fs.blockBuffer(),
                    LibExt2fs.BMAP_ALLOC, b, flags, physical));
        }
    }

    /** Zeroes the run's whole blocks (never written, they hold whatever was there before), then maps them as written. */
    private void markWritten(Run unwritten) throws IOException {
        long bs = fs.blockSize();
        long first = unwritten.offset() / bs;
        long firstPhysical = unwritten.physical() / bs;
        long count = (unwritten.end() + bs - 1) / bs - first;
        fs.lower().zero(firstPhysical * bs, count * bs, 0);
        long[] physical = new long[1];
        for (long i = 0; i < count; i++) {
            physical[0] = firstPhysical + i;
            fs.check("marking a block written", LibExt2fs.ext2fs_bmap2(fs.pointer(), ino, inode, fs.blockBuffer(),
                    LibExt2fs.BMAP_SET, first + i, null, physical));
        }
    }

    /** Indirect block maps: one lookup per block. */
    private void walkBlocks(RunList runs) throws IOException {
        int[] flags = new int[1];
        long[] physical = new long[1];
        for (long b = runs.nextBlock(); b < runs.endBlock() && !runs.isFull(); b++) {
            fs.check("reading the block map", LibExt2fs.ext2fs_bmap2(fs.pointer(), ino, inode, fs.blockBuffer(), 0, b,
                    flags, physical));
            Run.Kind kind = physical[0] == 0 ? Run.Kind.HOLE
                    : (flags[0] & LibExt2fs.BMAP_RET_UNINIT) != 0 ? Run.Kind.UNWRITTEN : Run.Kind.DATA;
            runs.add(b, 1, physical[0], kind);
        }
    }

    /** Extent trees: one step per extent, holes being the gaps between them. */
    private void walkExtents(RunList runs) throws IOException {
        long[] out = new long[1];
        fs.check("reading the extent tree", LibExt2fs.ext2fs_extent_open2(fs.pointer(), ino, inode, out));
        Pointer handle = new Pointer(out[0]);
        Memory extent = fs.extent();
        try {
            long rc = LibExt2fs.ext2fs_extent_goto2(handle, 0, runs.nextBlock());
            if (rc != 0 && rc != LibExt2fs.ET_EXTENT_NOT_FOUND) {
                fs.check("reading the extent tree", rc);
            }
            // after goto2 the handle is at the extent holding the block, or the nearest one before it
            rc = LibExt2fs.ext2fs_extent_get(handle, LibExt2fs.EXTENT_CURRENT, extent);
            while (!runs.isFull()) {
                long cursor = runs.nextBlock();
                if (rc == LibExt2fs.ET_EXTENT_NO_NEXT || rc == LibExt2fs.ET_NO_CURRENT_NODE) {
                    runs.add(cursor, runs.endBlock() - cursor, 0, Run.Kind.HOLE);
                    break;
                }
                fs.check("reading the extent tree", rc);
                long first = extent.getLong(LibExt2fs.EXTENT_LBLK);
                long count = extent.getInt(LibExt2fs.EXTENT_LEN) & 0xFFFFFFFFL;
                int flags = extent.getInt(LibExt2fs.EXTENT_FLAGS);
                if ((flags & LibExt2fs.EXTENT_FLAGS_LEAF) == 0 || first + count <= cursor) {
                    rc = LibExt2fs.ext2fs_extent_get(handle, LibExt2fs.EXTENT_NEXT_LEAF, extent);
                } else if (first > cursor) {
                    runs.add(cursor, first - cursor, 0, Run.Kind.HOLE);
                } else {
                    Run.Kind kind = (flags & LibExt2fs.EXTENT_FLAGS_UNINIT) != 0 ? Run.Kind.UNWRITTEN : Run.Kind.DATA;
                    runs.add(first, count, extent.getLong(LibExt2fs.EXTENT_PBLK), kind);
                    rc = LibExt2fs.ext2fs_extent_get(handle, LibExt2fs.EXTENT_NEXT_LEAF, extent);
                }
            }
        } finally {
            LibExt2fs.ext2fs_extent_free(handle);
        }
    }
}
