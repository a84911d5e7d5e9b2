package org.nbdosgi.plugin.vddk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.Lock;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Support;
import org.nbdosgi.plugin.vddk.VddkStats.Call;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * One client connection's VDDK handle. Data plane: any number of request threads at once; every
 * VDDK call goes through the handle's {@link HandleWorker}. Whole sectors go straight from the
 * engine's direct buffer to VDDK; requests not aligned to 512 bytes go through a bounce buffer
 * (read-modify-write for writes), so they are served correctly even though 512 is advertised as
 * the minimum block size.
 */
final class VddkHandle implements Handle {
    private static final int SECTOR = VixDiskLib.SECTOR;
    private static final BlockSize BLOCK_SIZE = new BlockSize(SECTOR, 4096, BlockSize.MAX_PAYLOAD);

    private final HandleWorker worker;
    private final long capacity;                 // sectors
    private final boolean writable;
    private final boolean canFlush;
    private final boolean canExtents;
    private final int holeType;
    private final Lock partialWrites;            // export-wide: read-modify-writes of shared sectors
    private final VddkStats stats;
    private final Runnable onClose;

    VddkHandle(HandleWorker worker, long capacity, boolean writable, boolean canFlush, boolean canExtents,
               int holeType, Lock partialWrites, VddkStats stats, Runnable onClose) {
        this.worker = worker;
        this.capacity = capacity;
        this.writable = writable;
        this.canFlush = canFlush;
        this.canExtents = canExtents;
        this.holeType = holeType;
        this.partialWrites = partialWrites;
        this.stats = stats;
        this.onClose = onClose;
    }

    @Override
    public long size() {
        return capacity * SECTOR;
    }

    @Override
    public BlockSize blockSize() {
        return BLOCK_SIZE;
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    @Override
    public boolean canFlush() {
        return canFlush;
    }

    @Override
    public Support canFua() {
        return canFlush ? Support.NATIVE : Support.NONE;
    }

    @Override
    public boolean canExtents() {
        return canExtents;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        int len = buf.remaining();
        if (len == 0) {
            return;
        }
        if (aligned(offset, len) && buf.isDirect()) {
            worker.read(address(buf), offset / SECTOR, len / SECTOR);
            return;
        }
        long first = offset / SECTOR * SECTOR;
        ByteBuffer bounce = ByteBuffer.allocateDirect((int) (roundUp(offset + len) - first));
        worker.read(address(bounce), first / SECTOR, bounce.capacity() / SECTOR);
        buf.duplicate().put(bounce.slice((int) (offset - first), len));
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        int len = buf.remaining();
        if (len > 0 && aligned(offset, len) && buf.isDirect()) {
            worker.write(address(buf), offset / SECTOR, len / SECTOR);
        } else if (len > 0) {
            writePartial(buf, offset, len);
        }
        if (Flags.has(flags, Flags.FUA)) {
            worker.flush();
        }
    }

    /** Read-modify-write of the sectors the request touches; one at a time per export, so two never lose each other's bytes. */
    private void writePartial(ByteBuffer buf, long offset, int len) throws IOException {
        long first = offset / SECTOR * SECTOR;
        long end = roundUp(offset + len);
        ByteBuffer bounce = ByteBuffer.allocateDirect((int) (end - first));
        partialWrites.lock();
        try {
            if (offset != first) {
                worker.read(address(bounce), first / SECTOR, 1);
            }
            if ((offset + len) % SECTOR != 0 && (end - SECTOR > first || offset == first)) {
                worker.read(address(bounce.slice(bounce.capacity() - SECTOR, SECTOR)), end / SECTOR - 1, 1);
            }
            bounce.put((int) (offset - first), buf, buf.position(), len);
            worker.write(address(bounce), first / SECTOR, bounce.capacity() / SECTOR);
        } finally {
            partialWrites.unlock();
        }
    }

    @Override
    public void flush(int flags) throws IOException {
        worker.flush();
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        boolean reqOne = Flags.has(flags, Flags.REQ_ONE);
        worker.call((lib, h) -> {
            AllocatedBlocks.describe((start, n, chunk) -> {
                long t = System.nanoTime();
                boolean answered = false;
                try {
                    long[] blocks = lib.queryAllocatedBlocks(h, start, n, chunk);
                    answered = true;
                    return blocks;
                } finally {
                    stats.record(Call.QueryAllocatedBlocks, t, 0, !answered);
                }
            }, capacity, offset, length, holeType, reqOne, extents);
            return null;
        });
    }

    /** Control plane: waits for the requests in flight, stops the worker, then closes the VDDK handle. */
    @Override
    public void close() throws IOException {
        try {
            worker.stop();
        } finally {
            onClose.run();
        }
    }

    private static boolean aligned(long offset, int len) {
        return offset % SECTOR == 0 && len % SECTOR == 0;
    }

    private static long roundUp(long bytes) {
        return (bytes + SECTOR - 1) / SECTOR * SECTOR;
    }

    /** The native address of the buffer's position: VDDK reads or writes there, no copy. */
    private static Pointer address(ByteBuffer direct) {
        Pointer base = Native.getDirectBufferPointer(direct);
        return direct.position() == 0 ? base : base.share(direct.position());
    }
}
