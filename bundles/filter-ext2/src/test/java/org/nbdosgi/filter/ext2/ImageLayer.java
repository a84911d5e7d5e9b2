package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;

/** The chain below the filter in unit tests: every handle opened is an {@link ImageHandle} on one image file. */
final class ImageLayer implements Layer, AutoCloseable {
    private final FileChannel channel;
    private final boolean writable;
    final List<ClientContext> opened = new ArrayList<>();

    ImageLayer(Path image, boolean writable) throws IOException {
        this.channel = writable ? FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(image, StandardOpenOption.READ);
        this.writable = writable;
    }

    @Override
    public synchronized Handle open(ClientContext client) throws IOException {
        opened.add(client);
        return new ImageHandle(channel, writable && !client.readOnly());
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
