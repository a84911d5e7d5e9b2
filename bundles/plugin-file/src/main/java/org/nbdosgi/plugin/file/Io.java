package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * How one connection moves bytes between the engine's buffers and the file. Data plane: called from
 * many threads at once; implementations use positional I/O only, and leave the buffer's position
 * and limit as they found them.
 */
interface Io {
    /** Fills {@code buf} (position to limit) from {@code offset}; EIO if the file ends first. */
    void read(ByteBuffer buf, long offset) throws IOException;

    /** Writes {@code buf} (position to limit) at {@code offset}. */
    void write(ByteBuffer buf, long offset) throws IOException;
}
