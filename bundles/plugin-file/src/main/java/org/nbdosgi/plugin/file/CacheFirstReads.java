package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Reads for a file on a device: what the page cache holds is read on the request's own thread
 * without waiting (preadv2 RWF_NOWAIT); the rest, which must wait for the disk, is read by a
 * platform thread of the export's {@link DiskReads}. A virtual thread blocked in a file read keeps
 * its carrier (the JDK only lends carriers for O_DIRECT), and there are as few carriers as cores,
 * so reads that miss the cache would otherwise reach the disk two at a time. Writes go straight
 * through: they land in the page cache. A platform thread (the engine's workers, since the handle
 * {@code blocksInKernel}) reads and writes in place. Data plane.
 */
final class CacheFirstReads implements Io {
    private final NativeFd fd;
    private final Io inner;
    private final Fallbacks fallbacks;
    private final DiskReads diskReads;

    CacheFirstReads(NativeFd fd, Io inner, Fallbacks fallbacks, DiskReads diskReads) {
        this.fd = fd;
        this.inner = inner;
        this.fallbacks = fallbacks;
        this.diskReads = diskReads;
    }

    @Override
    public void read(ByteBuffer buf, long offset) throws IOException {
        if (!Thread.currentThread().isVirtual() || !buf.isDirect() || !fallbacks.cachedReads()) {
            inner.read(buf, offset);
            return;
        }
        int cached = fd.readCached(buf, offset);
        if (cached < 0) {
            fallbacks.noCachedReads();
            inner.read(buf, offset);
        } else if (cached < buf.remaining()) {
            ByteBuffer rest = buf.slice(buf.position() + cached, buf.remaining() - cached);
            offCarrier(() -> inner.read(rest, offset + cached));
        }
    }

    private interface Transfer {
        void run() throws IOException;
    }

    /** Runs on a disk thread and waits for it, whatever happens: the buffer is in use until then. */
    private void offCarrier(Transfer transfer) throws IOException {
        CompletableFuture<Void> done = new CompletableFuture<>();
        diskReads.execute(() -> {
            try {
                transfer.run();
                done.complete(null);
            } catch (IOException e) {
                done.completeExceptionally(new UncheckedIOException(e));
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
            }
        });
        try {
            done.join();                                         // not interruptible: the kernel may still be writing to rest
        } catch (CompletionException e) {
            if (e.getCause() instanceof UncheckedIOException io) {
                throw io.getCause();
            }
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    @Override
    public void write(ByteBuffer buf, long offset) throws IOException {
        if (Thread.currentThread().isVirtual() && diskReads.busy()) {
            offCarrier(() -> inner.write(buf, offset));          // it may wait for a page being read
        } else {
            inner.write(buf, offset);
        }
    }
}
