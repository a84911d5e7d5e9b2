package org.nbdosgi.plugin.s3;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Support;

/**
 * One connection's view of an {@link S3Disk}: the capabilities, and the operations passed to the
 * disk, which all connections share. Data plane.
 */
final class S3Handle implements Handle {
    private final S3Disk disk;
    private final Geometry geometry;
    private final boolean writable;

    S3Handle(S3Disk disk, boolean writable) {
        this.disk = disk;
        this.geometry = disk.geometry();
        this.writable = writable;
    }

    @Override
    public long size() {
        return geometry.size();
    }

    /** Writes of whole objects are one PUT; smaller ones cost a read-modify-write of their object. */
    @Override
    public BlockSize blockSize() {
        return geometry.single() ? BlockSize.DEFAULT : new BlockSize(1, Math.min(geometry.objectSize(), BlockSize.MAX_PAYLOAD), BlockSize.MAX_PAYLOAD);
    }

    @Override
    public boolean canWrite() {
        return writable;
    }

    /** Writes are acknowledged once they are in the store: flush has nothing to wait for. */
    @Override
    public boolean canFlush() {
        return writable;
    }

    @Override
    public Support canFua() {
        return writable ? Support.NATIVE : Support.NONE;
    }

    @Override
    public boolean canTrim() {
        return writable;
    }

    @Override
    public Support canZero() {
        return writable ? Support.NATIVE : Support.NONE;
    }

    /** Deleting whole objects and rewriting partial ones is never slower than writing the zeros. */
    @Override
    public boolean canFastZero() {
        return writable;
    }

    @Override
    public boolean canExtents() {
        return !geometry.single();
    }

    /** Every process serving the disk reads and writes the store itself, with no cache in between. */
    @Override
    public boolean canMultiConn() {
        return true;
    }

    @Override
    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
        disk.read(buf, offset);
    }

    @Override
    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
        disk.write(buf, offset);
    }

    @Override
    public void flush(int flags) {
        // every acknowledged write is already in the store
    }

    @Override
    public void trim(long offset, long length, int flags) throws IOException {
        disk.trim(offset, length);
    }

    @Override
    public void zero(long offset, long length, int flags) throws IOException {
        disk.zero(offset, length);
    }

    @Override
    public void extents(long offset, long length, int flags, Extents extents) throws IOException {
        disk.extents(offset, length, Flags.has(flags, Flags.REQ_ONE), extents);
    }
}
