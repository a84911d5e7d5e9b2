package org.nbdosgi.filter.cache;

import java.io.Closeable;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.common.buffers.Zeros;
import org.nbdosgi.common.libc.LibC;

import com.sun.jna.LastErrorException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sparse temporary file the cached blocks live in, at the same offsets as in the export.
 * Created in the cache directory and unlinked at once, so it never outlives the process. Writes go
 * through a {@link FileChannel} (positional, from any number of threads, direct buffers without a
 * copy, and a virtual thread waiting for the disk frees its carrier; a full disk is an error, never
 * a signal), reads through {@link MappedReads} (no system call for a cache hit); a second descriptor opened
 * through the C library punches holes where blocks leave the cache. A channel is closed by the JDK
 * when a thread using it is interrupted: the interrupt is held back during each call, and should
 * one still land, the channel is opened again from the second descriptor, so the cache (and its
 * dirty data) survives. Creation and {@link #close()} run on the control plane, the rest on the
 * data plane.
 */
final class CacheFile implements Closeable {
    private static final int EOPNOTSUPP = 95;
    private static final int ENOSYS = 38;
    private static final Logger LOG = LoggerFactory.getLogger(CacheFile.class);

    private final int fd;
    private final Path dir;
    private final MappedReads mapped;
    private final long length;
    private volatile FileChannel channel;
    private volatile boolean canPunch;
    private volatile boolean closed;

    private CacheFile(FileChannel channel, int fd, Path dir, long length) {
        this.channel = channel;
        this.fd = fd;
        this.dir = dir;
        this.mapped = new MappedReads(length);
        this.length = length;
        this.canPunch = fd >= 0;
    }

    /** A new, already unlinked cache file in {@code dir}: {@code length} bytes, all a hole. */
    static CacheFile create(Path dir, long length) throws IOException {
        Path path = Files.createTempFile(dir, "nbd-osgi-cache-", ".tmp");     // mode 0600
        try {
            RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw");
            raf.setLength(length);                                           // sparse: mappings need the length
            CacheFile file = new CacheFile(raf.getChannel(), openForPunching(path), dir, length);
            file.punch(0, 4096);                             // finds out now whether the file system can
            return file;
        } finally {
            Files.deleteIfExists(path);
        }
    }

    private static int openForPunching(Path path) {
        try {
            return LibC.supported() ? LibC.open(path.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0) : -1;
        } catch (LastErrorException | LinkageError e) {
            return -1;                                       // no JNA or no libc: the cache cannot shrink
        }
    }

    /** Whether holes can be punched, so that blocks leaving the cache give their space back. */
    boolean canPunch() {
        return canPunch;
    }

    Path dir() {
        return dir;
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code offset} into a buffer the caller owns. */
    void read(ByteBuffer dst, long offset) throws IOException {
        int start = dst.position();
        boolean interrupted = Thread.interrupted();
        try {
            while (dst.hasRemaining()) {
                FileChannel ch = channel;
                try {
                    if (mapped.read(ch, dst, offset + dst.position() - start)) {
                        return;
                    }
                    if (ch.read(dst, offset + dst.position() - start) < 0) {
                        throw new NbdException(NbdError.EIO, "cache: the cache file ends before a cached block at " + offset);
                    }
                } catch (ClosedChannelException e) {
                    reopen(ch, e);
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

    /** Writes exactly {@code src.remaining()} bytes at {@code offset} from a buffer the caller owns. */
    void write(ByteBuffer src, long offset) throws IOException {
        int start = src.position();
        boolean interrupted = Thread.interrupted();
        try {
            while (src.hasRemaining()) {
                FileChannel ch = channel;
                try {
                    ch.write(src, offset + src.position() - start);
                } catch (ClosedChannelException e) {
                    reopen(ch, e);
                }
            }
        } catch (IOException e) {
            throw translate("write", e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A channel closed under us by an interrupt: a new one on the same file, from the descriptor we keep. */
    private synchronized void reopen(FileChannel broken, ClosedChannelException why) throws IOException {
        if (closed || fd < 0) {
            throw why;
        }
        if (channel == broken) {
            channel = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ, StandardOpenOption.WRITE);
        }
    }

    void writeZeros(long offset, long length) throws IOException {
        while (length > 0) {
            ByteBuffer z = Zeros.slice((int) Math.min(length, Integer.MAX_VALUE));
            int n = z.remaining();
            write(z, offset);
            offset += n;
            length -= n;
        }
    }

    /**
     * Gives the space of [offset, offset + length) back to the file system; false if it cannot (the
     * space is then still taken, and the caller must go on counting it).
     */
    boolean punch(long offset, long length) {
        while (canPunch) {
            try {
                LibC.fallocate(fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length);
                return true;
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EOPNOTSUPP || e.getErrorCode() == ENOSYS) {
                    canPunch = false;
                } else if (e.getErrorCode() != LibC.EINTR) {
                    LOG.warn("cache: punching {}+{} out of the cache file failed (errno {}): its space stays counted",
                            offset, length, e.getErrorCode());
                    return false;
                }
            }
        }
        return false;
    }

    private NbdException translate(String op, IOException e) {
        if (e instanceof NbdException n) {
            return n;
        }
        String m = String.valueOf(e.getMessage());
        NbdError error = m.contains("No space left") || m.contains("Disk quota") ? NbdError.ENOSPC : NbdError.EIO;
        return new NbdException(error, "cache: " + op + " of the cache file in " + dir + " failed: " + m, e);
    }

    /**
     * Gives the file's space back at once (the mappings would keep the unlinked file alive until
     * the garbage collector drops them), then closes the descriptors.
     */
    @Override
    public void close() throws IOException {
        closed = true;
        try {
            if (!punch(0, length)) {
                channel.truncate(0);
            }
        } finally {
            try {
                channel.close();
            } finally {
                if (fd >= 0) {
                    try {
                        LibC.close(fd);
                    } catch (LastErrorException e) {
                        // nothing was written through this descriptor; the file is gone either way
                    }
                }
            }
        }
    }
}
