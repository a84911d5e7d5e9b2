package org.nbdosgi.filter.cow;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * The sparse temporary file the overlay's blocks live in, at their offsets in the export. Created
 * in the overlay directory (mode 0600) and unlinked at once, so it never outlives the process and
 * its space goes back when it is closed. Positional {@link FileChannel} I/O from any number of
 * threads, with the engine's direct buffers, no copy. A channel is closed by the JDK when a thread
 * using it is interrupted; the engine never interrupts request threads, and an interrupt pending
 * when a call starts is held back until it returns.
 */
final class OverlayFile implements AutoCloseable {
    private final FileChannel channel;
    private final Path dir;

    private OverlayFile(FileChannel channel, Path dir) {
        this.channel = channel;
        this.dir = dir;
    }

    /** A new overlay file of {@code length} bytes, all a hole. Control plane. */
    static OverlayFile create(Path dir, long length) throws IOException {
        if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
            throw new NbdException(NbdError.EIO, "cow: cannot keep the overlay in " + dir + ": not a writable directory (set TMPDIR)");
        }
        Path path = Files.createTempFile(dir, "nbd-osgi-cow-", ".tmp");
        try {
            RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw");
            raf.setLength(length);
            return new OverlayFile(raf.getChannel(), dir);
        } finally {
            Files.deleteIfExists(path);
        }
    }

    /** Adopts the file a predecessor handed over. */
    static OverlayFile adopt(FileChannel channel, Path dir) {
        return new OverlayFile(channel, dir);
    }

    FileChannel channel() {
        return channel;
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code offset}. */
    void read(ByteBuffer dst, long offset) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            int start = dst.position();
            while (dst.hasRemaining()) {
                if (channel.read(dst, offset + dst.position() - start) < 0) {
                    throw new NbdException(NbdError.EIO, "cow: the overlay file ends before offset " + offset);
                }
            }
        } catch (IOException e) {
            throw translate("read", e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Writes exactly {@code src.remaining()} bytes at {@code offset}. */
    void write(ByteBuffer src, long offset) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            int start = src.position();
            while (src.hasRemaining()) {
                channel.write(src, offset + src.position() - start);
            }
        } catch (IOException e) {
            throw translate("write", e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private NbdException translate(String op, IOException e) {
        if (e instanceof NbdException n) {
            return n;
        }
        String m = String.valueOf(e.getMessage());
        NbdError error = m.contains("No space left") || m.contains("Disk quota") ? NbdError.ENOSPC : NbdError.EIO;
        return new NbdException(error, "cow: " + op + " of the overlay file in " + dir + " failed: " + m, e);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
