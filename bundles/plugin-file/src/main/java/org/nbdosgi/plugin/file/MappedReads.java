package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Views of a file's pages for the engine to send as they are ({@link org.nbdosgi.api.Handle#lend}):
 * the file mapped read-only, a window at a time as first needed, so a read the page cache holds is
 * copied once, from the cache into the socket, where pread and then a send copy it twice. Data
 * plane; no lock (two threads mapping one window at once keep one mapping, the other is collected).
 * The mappings live as long as a view of them does; the garbage collector unmaps them.
 */
final class MappedReads {
    /** 1 GiB windows: a MappedByteBuffer holds at most 2 GiB. */
    static final int WINDOW_SHIFT = 30;

    private final FileChannel channel;
    private final boolean inMemory;
    private final int windowShift;
    private final long window;
    private final AtomicReferenceArray<MappedByteBuffer> windows;
    private volatile boolean unmappable;                     // a mapping failed: reads copy from then on

    /**
     * @param size     the export's size, which the engine keeps reads within
     * @param inMemory the file is in RAM (tmpfs), where every page is there without waiting
     */
    MappedReads(FileChannel channel, long size, boolean inMemory, int windowShift) {
        this.channel = channel;
        this.inMemory = inMemory;
        this.windowShift = windowShift;
        this.window = 1L << windowShift;
        this.windows = new AtomicReferenceArray<>((int) ((size + window - 1) >>> windowShift));
    }

    /**
     * Views of the {@code length} bytes at {@code offset}, or null when the file no longer holds
     * them all (it shrank: the engine's read reports the error) or, for a file on a device, when
     * some are not in the page cache (sending from the mapping would wait for the disk, on the
     * thread that writes replies).
     */
    ByteBuffer[] lend(long offset, int length) throws IOException {
        long end = offset + length;
        if (unmappable || end > channel.size()) {         // an access past the end of a mapped file faults
            return null;
        }
        int first = (int) (offset >>> windowShift);
        ByteBuffer[] views = new ByteBuffer[(int) ((end - 1) >>> windowShift) - first + 1];
        long at = offset;
        for (int i = 0; i < views.length; i++) {
            long start = (long) (first + i) << windowShift;
            int in = (int) (at - start);
            int n = (int) Math.min(end - at, window - in);
            MappedByteBuffer w = window(first + i, start);
            if (w == null || in + n > w.capacity()) {
                return null;                                // mapped when the file was shorter
            }
            MappedByteBuffer view = w.slice(in, n);
            if (!inMemory && !view.isLoaded()) {
                return null;
            }
            views[i] = view;
            at += n;
        }
        return views;
    }

    /**
     * Window {@code w} (at {@code start}), mapped as far as the file reaches now (mapping past its
     * end would grow it); null if it cannot be mapped (out of address space or map count), and
     * nothing is mapped from then on: the JDK collects garbage before each failing attempt.
     */
    private MappedByteBuffer window(int w, long start) throws IOException {
        MappedByteBuffer m = windows.get(w);
        if (m == null) {
            long reach = Math.min(window, channel.size() - start);
            if (reach <= 0) {
                return null;                                // the file shrank since lend looked
            }
            try {
                m = channel.map(FileChannel.MapMode.READ_ONLY, start, reach);
            } catch (IOException e) {
                if (!channel.isOpen()) {
                    throw e;
                }
                unmappable = true;
                return null;
            }
            if (!windows.compareAndSet(w, null, m)) {
                m = windows.get(w);
            }
        }
        return m;
    }
}
