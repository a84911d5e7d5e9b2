package org.nbdosgi.filter.cow;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

/**
 * The layer below the cow filter in unit tests: read-only bytes (as a remote disk) whose second
 * half is a hole for block status, counting the reads and bytes that reach it. Any attempt to
 * write fails the test. Thread-safe (the bytes never change).
 */
final class Source implements Layer {
    private final byte[] data;
    final AtomicInteger reads = new AtomicInteger();
    final AtomicLong bytesRead = new AtomicLong();
    final AtomicInteger caches = new AtomicInteger();
    final AtomicInteger opens = new AtomicInteger();

    Source(byte[] data) {
        this.data = data.clone();
    }

    byte[] bytes() {
        return data.clone();
    }

    @Override
    public Handle open(ClientContext client) {
        opens.incrementAndGet();
        if (!client.readOnly()) {
            throw new AssertionError("the cow filter opens the layer below read-only");
        }
        return new Handle() {
            @Override
            public long size() {
                return data.length;
            }

            @Override
            public boolean canExtents() {
                return true;
            }

            @Override
            public Support canCache() {
                return Support.NATIVE;
            }

            @Override
            public void read(ByteBuffer buf, long offset, int flags) throws IOException {
                if (offset + buf.remaining() > data.length) {
                    throw new NbdException(NbdError.EINVAL, "read beyond the end");
                }
                reads.incrementAndGet();
                bytesRead.addAndGet(buf.remaining());
                buf.duplicate().put(data, (int) offset, buf.remaining());
            }

            @Override
            public void write(ByteBuffer buf, long offset, int flags) {
                throw new AssertionError("the cow filter wrote to the layer below");
            }

            @Override
            public void extents(long offset, long length, int flags, Extents extents) throws IOException {
                long half = data.length / 2;
                extents.add(0, half, 0);
                extents.add(half, data.length - half, Extents.HOLE | Extents.ZERO);
            }

            @Override
            public void cache(long offset, long length, int flags) {
                caches.incrementAndGet();
            }
        };
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnly) {
        return List.of();
    }

    @Override
    public String defaultExport() {
        return "";
    }
}
