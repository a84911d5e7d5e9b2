package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.file.Path;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.common.buffers.BufferPool;

/**
 * {@code file=PATH}: every client gets the same file or block device, whatever export name it asks
 * for. Each connection opens its own descriptors (as nbdkit does), so a file replaced or removed
 * while served is noticed by the next client instead of being served stale. Control plane, except
 * {@link #open}.
 */
final class SingleFileInstance implements PluginInstance {
    private final Path path;
    private final FileOptions options;
    private final boolean readOnly;
    private final Fallbacks fallbacks;
    private final BufferPool bounce = UncachedIo.bounceBuffers();
    private final DiskReads diskReads = new DiskReads();

    SingleFileInstance(Path path, FileOptions options, boolean readOnly) {
        this.path = path;
        this.options = options;
        this.readOnly = readOnly;
        this.fallbacks = new Fallbacks(path.toString());
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        return FileHandle.open(FileTarget.inspect(path), options, readOnly || client.readOnly(), fallbacks, bounce, diskReads);
    }

    @Override
    public void close() {
        diskReads.close();
    }
}
