package org.nbdosgi.filter.blocksize;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterHandle;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/**
 * One connection through the blocksize filter: every request the client sends reaches the layer
 * below aligned to {@code minblock} and no longer than {@code maxdata} (reads, writes) or
 * {@code maxlen} (the rest). Data plane, requests in parallel.
 *
 * <p>An unaligned head or tail of a read is read whole into a bounce block; of a write or zero, it
 * is read, patched and written back (read-modify-write), holding the export's lock exclusively, so
 * no other write lands between the read and the write; aligned writes, zeros and trims hold it
 * shared, so they run in parallel with each other. With {@code minblock=1} nothing is ever
 * unaligned and the lock is not taken. Unaligned parts of a trim are dropped (a trim is advisory).
 */
final class BlocksizeHandle extends FilterHandle {
    private final int min;
    private final int maxdata;
    private final long maxlen;
    private final long size;
    private final Lock shared;
    private final Lock exclusive;
    private final boolean fuaByFlush;

    BlocksizeHandle(Handle next, Limits configured, ReadWriteLock lock) throws IOException {
        super(next);
        Limits l = configured.over(next.blockSize());
        this.min = l.minblock();
        this.maxdata = l.maxdata();
        this.maxlen = l.maxlen();
        this.size = next.size() / min * min;
        boolean aligning = min > 1;
        this.shared = aligning ? lock.readLock() : null;
        this.exclusive = aligning ? lock.writeLock() : null;
        this.fuaByFlush = next.canFua() == Support.EMULATE;
    }

    /** The size rounded down to {@code minblock}: the unaligned tail cannot be written safely. */
    @Override
    public long size() {
        return size;
    }

    /** Clients may send any request: this filter aligns and splits it. */
    @Override
    public BlockSize blockSize() throws IOException {
        int preferred = Math.max(Math.max(next.blockSize().preferred(), 4096), min);
        return new BlockSize(1, preferred, Math.max(preferred, BlockSize.MAX_PAYLOAD));
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        int pos = buf.position();
        int count = buf.remaining();
        int drop = (int) (offset & (min - 1));
        if (drop != 0 && count > 0) {
            int keep = Math.min(min - drop, count);
            ByteBuffer block = ByteBuffer.allocateDirect(min);
            next.read(block, offset - drop, flags);
            buf.put(pos, block, drop, keep);
            pos += keep;
            offset += keep;
            count -= keep;
        }
        while (count >= min) {
            int n = Math.min(maxdata, count / min * min);
            next.read(buf.slice(pos, n), offset, flags);
            pos += n;
            offset += n;
            count -= n;
        }
        if (count > 0) {
            ByteBuffer block = ByteBuffer.allocateDirect(min);
            next.read(block, offset, flags);
            buf.put(pos, block, 0, count);
        }
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        int passed = fuaByFlush ? flags & ~Flags.FUA : flags;
        int pos = buf.position();
        int count = buf.remaining();
        int drop = (int) (offset & (min - 1));
        if (drop != 0 && count > 0) {
            int keep = Math.min(min - drop, count);
            int from = pos;
            patch(offset - drop, passed, block -> block.put(drop, buf, from, keep));
            pos += keep;
            offset += keep;
            count -= keep;
        }
        while (count >= min) {
            int n = Math.min(maxdata, count / min * min);
            lock(shared);
            try {
                next.write(buf.slice(pos, n), offset, passed);
            } finally {
                unlock(shared);
            }
            pos += n;
            offset += n;
            count -= n;
        }
        if (count > 0) {
            int from = pos;
            int tail = count;
            patch(offset, passed, block -> block.put(0, buf, from, tail));
        }
        flushForFua(flags);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        if (length == 0) {
            return;
        }
        long end = offset + length;
        long alignedStart = roundUp(offset);
        long alignedEnd = end / min * min;
        boolean unaligned = alignedStart != offset || alignedEnd != end;
        if (unaligned && Flags.has(flags, Flags.FAST_ZERO)) {
            throw new NbdException(NbdError.ENOTSUP, "blocksize: an unaligned zero is a read-modify-write, not fast");
        }
        int passed = fuaByFlush ? flags & ~Flags.FUA : flags;
        int writeFlags = passed & Flags.FUA;
        if (alignedStart > alignedEnd) {                     // within one block
            int from = (int) (offset - alignedEnd);
            int n = (int) length;
            patch(alignedEnd, writeFlags, block -> zeros(block, from, n));
        } else {
            if (offset != alignedStart) {
                long blockStart = alignedStart - min;
                int from = (int) (offset - blockStart);
                patch(blockStart, writeFlags, block -> zeros(block, from, min - from));
            }
            for (long at = alignedStart; at < alignedEnd; ) {
                long n = Math.min(maxlen, alignedEnd - at);
                lock(shared);
                try {
                    next.zero(at, n, passed);
                } finally {
                    unlock(shared);
                }
                at += n;
            }
            if (end != alignedEnd) {
                int n = (int) (end - alignedEnd);
                patch(alignedEnd, writeFlags, block -> zeros(block, 0, n));
            }
        }
        flushForFua(flags);
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        long start = roundUp(offset);
        long end = (offset + length) / min * min;
        int passed = fuaByFlush ? flags & ~Flags.FUA : flags;
        for (long at = start; at < end; ) {
            long n = Math.min(maxlen, end - at);
            lock(shared);
            try {
                next.trim(at, n, passed);
            } finally {
                unlock(shared);
            }
            at += n;
        }
        flushForFua(flags);
    }

    @Override
    public void cache(long offset, long length, int flags) throws IOException {
        long end = Math.min(size, roundUp(offset + length));
        for (long at = offset / min * min; at < end; ) {
            long n = Math.min(maxlen, end - at);
            next.cache(at, n, flags);
            at += n;
        }
    }

    /** One aligned request around the range, at most {@code maxlen}; the collector clips what lies outside. */
    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        long start = offset / min * min;
        long end = Math.min(size, roundUp(offset + length));
        next.extents(start, Math.min(maxlen, end - start), flags, extents);
    }

    private interface Patch {
        void apply(ByteBuffer block);
    }

    /** Read-modify-write of the block at {@code blockStart}, alone among this export's writes. */
    private void patch(long blockStart, int flags, Patch change) throws IOException {
        ByteBuffer block = ByteBuffer.allocateDirect(min);
        exclusive.lock();
        try {
            next.read(block, blockStart, 0);
            change.apply(block);
            next.write(block, blockStart, flags & Flags.FUA);
        } finally {
            exclusive.unlock();
        }
    }

    private static void zeros(ByteBuffer block, int from, int n) {
        for (int i = from; i < from + n; i++) {
            block.put(i, (byte) 0);
        }
    }

    /** FUA the layer below emulates with a flush: one flush after all the pieces, not one each. */
    private void flushForFua(int flags) throws IOException {
        if (fuaByFlush && Flags.has(flags, Flags.FUA)) {
            next.flush(0);
        }
    }

    private long roundUp(long v) {
        return (v + min - 1) / min * min;
    }

    private static void lock(Lock l) {
        if (l != null) {
            l.lock();
        }
    }

    private static void unlock(Lock l) {
        if (l != null) {
            l.unlock();
        }
    }
}
