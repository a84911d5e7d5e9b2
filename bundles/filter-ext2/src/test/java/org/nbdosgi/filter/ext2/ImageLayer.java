package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;

/**
 * The chain below the filter in unit tests: every handle opened is an {@link ImageHandle} on one
 * image file. It counts the writes that reach it and, once {@link #slowReads} is called, makes each
 * read wait and records how many reads were inside it at once.
 */
final class ImageLayer implements Layer, AutoCloseable {
    private final FileChannel channel;
    private final boolean writable;
    private final boolean honoursReadOnly;
    final List<ClientContext> opened = new ArrayList<>();
    final AtomicLong writes = new AtomicLong();
    private final AtomicInteger readsInside = new AtomicInteger();
    private final AtomicInteger mostReadsInside = new AtomicInteger();
    private volatile long readDelayMillis;

    ImageLayer(Path image, boolean writable) throws IOException {
        this(image, writable, true);
    }

    /**
     * @param honoursReadOnly false: handles opened for read-only clients still take writes, so only
     *                        the filter above decides whether anything is written
     */
    ImageLayer(Path image, boolean writable, boolean honoursReadOnly) throws IOException {
        this.channel = writable ? FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(image, StandardOpenOption.READ);
        this.writable = writable;
        this.honoursReadOnly = honoursReadOnly;
    }

    @Override
    public synchronized Handle open(ClientContext client) throws IOException {
        opened.add(client);
        return new ImageHandle(channel, writable && !(honoursReadOnly && client.readOnly()), this);
    }

    /** From now on every read waits {@code millis} inside the layer. */
    void slowReads(long millis) {
        readDelayMillis = millis;
        mostReadsInside.set(0);
    }

    /** The most reads that were inside the layer at once since {@link #slowReads}. */
    int mostReadsInside() {
        return mostReadsInside.get();
    }

    void readStarts() throws IOException {
        int now = readsInside.incrementAndGet();
        mostReadsInside.accumulateAndGet(now, Math::max);
        long delay = readDelayMillis;
        if (delay > 0) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException();
            }
        }
    }

    void readEnds() {
        readsInside.decrementAndGet();
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnly) {
        return List.of(new ExportEntry("", null));
    }

    @Override
    public String defaultExport() {
        return "";
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
