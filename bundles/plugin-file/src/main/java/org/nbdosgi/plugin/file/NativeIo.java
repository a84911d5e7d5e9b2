package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Positional I/O on the plugin's own descriptor, for {@code fadvise=random|sequential}: the kernel
 * keeps read-ahead state per open file, so the reads must go through the descriptor that was
 * advised, which the JDK's channel is not. Heap buffers (a filter's own) take the channel path.
 */
final class NativeIo implements Io {
    private final NativeFd fd;
    private final Io heapPath;

    NativeIo(NativeFd fd, Io heapPath) {
        this.fd = fd;
        this.heapPath = heapPath;
    }

    @Override
    public void read(ByteBuffer buf, long offset) throws IOException {
        if (buf.isDirect()) {
            fd.readFully(buf, offset);
        } else {
            heapPath.read(buf, offset);
        }
    }

    @Override
    public void write(ByteBuffer buf, long offset) throws IOException {
        if (buf.isDirect()) {
            fd.writeFully(buf, offset);
        } else {
            heapPath.write(buf, offset);
        }
    }
}
