package org.nbdosgi.itests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;

/**
 * {@code imagefile [file=]PATH}: a layer for filters to stand on in Pax Exam tests, registered by
 * the test itself. It serves an image file through a FileChannel and reports every all-zero 4 KiB
 * block as a hole, as a sparse-aware file plugin would report a sparse image: a filter that passed
 * these extents through instead of its own would hand clients holes where its data is.
 */
final class ImageFilePlugin implements Plugin {
    static final String NAME = "imagefile";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "an image file (test stand-in)";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.required("file", "the image"));
    }

    @Override
    public String magicParameter() {
        return "file";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        Path path = Path.of(config.require("file"));
        try {
            FileChannel channel = export.readOnly() ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            return new Instance(channel, !export.readOnly());
        } catch (IOException e) {
            throw new ConfigException("file: " + e.getMessage(), e);
        }
    }

    private record Instance(FileChannel channel, boolean writable) implements PluginInstance {
        @Override
        public Handle open(ClientContext client) throws IOException {
            return new ImageHandle(channel, writable, channel.size());
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private record ImageHandle(FileChannel channel, boolean writable, long size) implements Handle {
        @Override
        public boolean canWrite() {
            return writable;
        }

        @Override
        public boolean canFlush() {
            return true;
        }

        @Override
        public boolean canExtents() {
            return true;
        }

        @Override
        public void read(ByteBuffer buf, long offset, int flags) throws IOException {
            ByteBuffer b = buf.duplicate();
            while (b.hasRemaining()) {
                if (channel.read(b, offset + b.position() - buf.position()) < 0) {
                    throw new NbdException(NbdError.EIO, "end of file");
                }
            }
        }

        @Override
        public void write(ByteBuffer buf, long offset, int flags) throws IOException {
            ByteBuffer b = buf.duplicate();
            while (b.hasRemaining()) {
                channel.write(b, offset + b.position() - buf.position());
            }
        }

        @Override
        public void flush(int flags) throws IOException {
            channel.force(false);
        }

        @Override
        public void extents(long offset, long length, int flags, Extents extents) throws IOException {
            ByteBuffer block = ByteBuffer.allocate(4096);
            for (long at = offset / 4096 * 4096; at < offset + length && !extents.isFull(); at += 4096) {
                int n = (int) Math.min(4096, size - at);
                read(block.clear().limit(n), at, 0);
                boolean zero = true;
                for (int i = 0; i < n && zero; i++) {
                    zero = block.get(i) == 0;
                }
                extents.add(at, n, zero ? Extents.HOLE | Extents.ZERO : 0);
            }
        }
    }
}
