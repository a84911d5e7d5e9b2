package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * Positional reads and writes through the JDK's {@link FileChannel} (pread/pwrite without a copy
 * for direct buffers): the default path. A virtual thread keeps its carrier while the kernel works
 * (the JDK lends a carrier only for O_DIRECT), so on a disk {@link CacheFirstReads} moves what must
 * wait for the device to platform threads.
 */
final class ChannelIo implements Io {
    private final FileChannel channel;
    private final Path path;

    ChannelIo(FileChannel channel, Path path) {
        this.channel = channel;
        this.path = path;
    }

    @Override
    public void read(ByteBuffer buf, long offset) throws IOException {
        ByteBuffer b = buf.duplicate();
        try {
            while (b.hasRemaining()) {
                int n = channel.read(b, offset);
                if (n < 0) {
                    throw new NbdException(NbdError.EIO, path + ": end of file at " + offset
                            + ": the file is shorter than the export (truncated while served?)");
                }
                offset += n;
            }
        } catch (NbdException e) {
            throw e;
        } catch (IOException e) {
            throw IoErrors.translate(path, "read", e);
        }
    }

    @Override
    public void write(ByteBuffer buf, long offset) throws IOException {
        ByteBuffer b = buf.duplicate();
        try {
            while (b.hasRemaining()) {
                offset += channel.write(b, offset);
            }
        } catch (IOException e) {
            throw IoErrors.translate(path, "write", e);
        }
    }
}
