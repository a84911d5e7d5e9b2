package org.nbdosgi.testkit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/**
 * The layer below a filter in unit tests, offering what the engine offers a filter: a RAM disk that
 * writes, flushes, trims, zeroes, caches and FUAs natively and reports 4 KiB pages never written as
 * holes. It counts the requests reaching it, and can be made to fail reads at an offset, writes, or
 * one flush (losing what was written since, as a disk that drops its write cache). Thread-safe (one lock).
 */
public final class RamDisk implements Layer {
    public static final int PAGE = 4096;
    /** A client context for tests: default export, writable, connection 1. */
    public static final ClientContext CLIENT = new ClientContext("", false, "test", 1);

    private final byte[] data;
    private final boolean[] allocated;
    public final AtomicInteger reads = new AtomicInteger();
    public final AtomicInteger writes = new AtomicInteger();
    public final AtomicInteger flushes = new AtomicInteger();
    public final AtomicInteger zeros = new AtomicInteger();
    public final AtomicInteger trims = new AtomicInteger();
    public final AtomicInteger caches = new AtomicInteger();
    /** Writes, zeros and flushes fail (ENOSPC, EIO for a flush). */
    public volatile boolean failWrites;
    public volatile int minimumBlock = 1;
    /** Runs inside the next flush, before it completes or fails: a request racing with that flush. */
    public volatile IoAction duringFlush;
    private volatile long badOffset = -1;
    private volatile long cachedBelow;
    private volatile List<String> metaContexts = List.of();
    /** Set by {@link #failNextFlush}: what the disk held then, which a failed flush reverts to. */
    private byte[] lastFlushed;

    public interface IoAction {
        void run() throws Exception;
    }

    public RamDisk(int size) {
        data = new byte[size];
        allocated = new boolean[(size + PAGE - 1) / PAGE];
    }

    /** Reads covering {@code offset} fail with EIO, as a bad sector. */
    public RamDisk failReadsAt(long offset) {
        badOffset = offset;
        return this;
    }

    /** Reads that end at or below {@code offset} are also answered by readCached, as a page cache holding them. */
    public RamDisk cachedBelow(long offset) {
        cachedBelow = offset;
        return this;
    }

    /** The layer also offers these meta contexts (it answers none of them). */
    public RamDisk offering(String... contexts) {
        metaContexts = List.of(contexts);
        return this;
    }

    public synchronized byte[] snapshot() {
        return data.clone();
    }

    /**
     * The next flush fails with EIO and loses every write since this call, as a disk that drops
     * its write cache when a flush fails.
     */
    public synchronized void failNextFlush() {
        lastFlushed = data.clone();
    }

    public synchronized void fill(byte[] content) {
        System.arraycopy(content, 0, data, 0, content.length);
        Arrays.fill(allocated, true);
    }

    public int size() {
        return data.length;
    }

    /** Every request that reached the disk. */
    public int calls() {
        return reads.get() + writes.get() + flushes.get() + zeros.get() + trims.get() + caches.get();
    }

    @Override
    public Handle open(ClientContext client) {
        return new Handle() {
            @Override
            public long size() {
                return data.length;
            }

            @Override
            public BlockSize blockSize() {
                return new BlockSize(minimumBlock, Math.max(4096, minimumBlock), BlockSize.MAX_PAYLOAD);
            }

            @Override
            public boolean canWrite() {
                return true;
            }

            @Override
            public boolean canFlush() {
                return true;
            }

            @Override
            public boolean canTrim() {
                return true;
            }

            @Override
            public Support canZero() {
                return Support.NATIVE;
            }

            @Override
            public Support canFua() {
                return Support.NATIVE;
            }

            @Override
            public Support canCache() {
                return Support.NATIVE;
            }

            @Override
            public boolean canExtents() {
                return true;
            }

            @Override
            public void read(ByteBuffer buf, long offset, int flags) throws IOException {
                reads.incrementAndGet();
                if (badOffset >= offset && badOffset < offset + buf.remaining()) {
                    throw new NbdException(NbdError.EIO, "ram disk: bad sector at " + badOffset);
                }
                synchronized (RamDisk.this) {
                    buf.put(buf.position(), data, (int) offset, buf.remaining());
                }
            }

            @Override
            public boolean readCached(ByteBuffer buf, long offset, int flags) throws IOException {
                if (offset + buf.remaining() > cachedBelow) {
                    return false;
                }
                read(buf, offset, flags);
                return true;
            }

            @Override
            public void write(ByteBuffer buf, long offset, int flags) throws IOException {
                if (failWrites) {
                    throw new NbdException(NbdError.ENOSPC, "ram disk: writes fail");
                }
                writes.incrementAndGet();
                synchronized (RamDisk.this) {
                    buf.get(buf.position(), data, (int) offset, buf.remaining());
                    mark(offset, buf.remaining(), true);
                }
            }

            @Override
            public void flush(int flags) throws IOException {
                IoAction racing = duringFlush;
                duringFlush = null;
                if (racing != null) {
                    try {
                        racing.run();
                    } catch (Exception e) {
                        throw new IOException(e);
                    }
                }
                synchronized (RamDisk.this) {
                    if (lastFlushed != null) {
                        System.arraycopy(lastFlushed, 0, data, 0, data.length);
                        lastFlushed = null;
                        throw new NbdException(NbdError.EIO, "ram disk: flush failed, the writes since the last one are lost");
                    }
                }
                if (failWrites) {
                    throw new NbdException(NbdError.EIO, "ram disk: flush fails");
                }
                flushes.incrementAndGet();
            }

            @Override
            public void zero(long offset, long length, int flags) throws IOException {
                if (failWrites) {
                    throw new NbdException(NbdError.ENOSPC, "ram disk: zero fails");
                }
                zeros.incrementAndGet();
                synchronized (RamDisk.this) {
                    Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
                }
            }

            @Override
            public void trim(long offset, long length, int flags) {
                trims.incrementAndGet();
                synchronized (RamDisk.this) {
                    Arrays.fill(data, (int) offset, (int) (offset + length), (byte) 0);
                    mark(offset, length, false);
                }
            }

            @Override
            public void cache(long offset, long length, int flags) {
                caches.incrementAndGet();
            }

            @Override
            public void extents(long offset, long length, int flags, Extents extents) throws IOException {
                synchronized (RamDisk.this) {
                    for (long p = offset / PAGE * PAGE; p < offset + length; p += PAGE) {
                        extents.add(p, PAGE, allocated[(int) (p / PAGE)] ? 0 : Extents.HOLE | Extents.ZERO);
                    }
                }
            }
        };
    }

    /** Whole pages inside [offset, offset + length) become allocated or holes; a partly written page is allocated. */
    private void mark(long offset, long length, boolean written) {
        long first = written ? offset / PAGE : (offset + PAGE - 1) / PAGE;
        long end = written ? (offset + length + PAGE - 1) / PAGE : (offset + length) / PAGE;
        for (long p = first; p < end; p++) {
            allocated[(int) p] = written;
        }
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnly) {
        return List.of();
    }

    @Override
    public String defaultExport() {
        return "";
    }

    @Override
    public List<String> metaContexts() {
        return metaContexts;
    }
}
