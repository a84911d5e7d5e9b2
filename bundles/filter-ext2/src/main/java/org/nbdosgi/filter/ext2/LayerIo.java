package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

import com.sun.jna.Callback;
import com.sun.jna.CallbackReference;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * A libext2fs {@code io_manager} whose channel reads and writes the layer below this filter in the
 * chain, so the filesystem never has to be a local file. Each {@link Filesystem} has its own: the
 * callbacks are bound to this object, so no registry is needed to find the Java side of a channel.
 *
 * <p>Data plane, entered only from inside libext2fs calls that the filesystem makes under its
 * lock; that lock guards the fields here. Metadata blocks read recently are served from a
 * {@link MetadataCache}. libext2fs passes only a number up, so a failure of the
 * layer below is also kept here, for the filesystem to rethrow with its NBD error intact.
 */
final class LayerIo {
    private static final int MANAGER_SIZE = 240;
    private static final long MANAGER_NAME = 8;
    private static final long MANAGER_OPEN = 16;
    private static final long MANAGER_CLOSE = 24;
    private static final long MANAGER_SET_BLKSIZE = 32;
    private static final long MANAGER_READ_BLK = 40;
    private static final long MANAGER_WRITE_BLK = 48;
    private static final long MANAGER_FLUSH = 56;
    private static final long MANAGER_READ_BLK64 = 88;
    private static final long MANAGER_WRITE_BLK64 = 96;
    private static final long MANAGER_ZEROOUT = 120;
    private static final int CHANNEL_SIZE = 192;
    private static final long CHANNEL_MANAGER = 8;
    private static final long CHANNEL_NAME = 16;
    private static final long CHANNEL_BLOCK_SIZE = 24;
    private static final long CHANNEL_REFCOUNT = 48;

    /** {@code errcode_t open(const char *name, int flags, io_channel *channel)}. */
    interface OpenFunction extends Callback {
        long invoke(Pointer name, int flags, Pointer channelOut);
    }

    /** {@code errcode_t close(io_channel)} and {@code flush(io_channel)}. */
    interface ChannelFunction extends Callback {
        long invoke(Pointer channel);
    }

    /** {@code errcode_t set_blksize(io_channel, int blksize)}. */
    interface BlockSizeFunction extends Callback {
        long invoke(Pointer channel, int blockSize);
    }

    /** {@code errcode_t read_blk64(io_channel, unsigned long long block, int count, void *data)}, and write. */
    interface BlockFunction extends Callback {
        long invoke(Pointer channel, long block, int count, Pointer data);
    }

    /** {@code errcode_t zeroout(io_channel, unsigned long long block, unsigned long long count)}. */
    interface ZeroFunction extends Callback {
        long invoke(Pointer channel, long block, long count);
    }

    private final Handle lower;
    private final Memory manager = new Memory(MANAGER_SIZE);
    private final Memory name;
    // libext2fs holds the native addresses of these: they live exactly as long as this object
    private final OpenFunction open = this::open;
    private final ChannelFunction close = this::close;
    private final BlockSizeFunction setBlockSize = this::setBlockSize;
    private final BlockFunction read = (channel, block, count, data) -> transfer(channel, block, count, data, false);
    private final BlockFunction write = (channel, block, count, data) -> transfer(channel, block, count, data, true);
    private final ChannelFunction flush = this::flush;
    private final ZeroFunction zeroOut = this::zeroOut;
    private final Map<Long, Memory> channels = new HashMap<>();
    private final MetadataCache cache = new MetadataCache();
    private IOException failure;

    /**
     * @param lower the handle the filesystem lives on (shared by the whole export)
     * @param label names the channel in libext2fs's own messages
     */
    LayerIo(Handle lower, String label) {
        this.lower = lower;
        byte[] cname = LibExt2fs.cString(label);
        this.name = new Memory(cname.length);
        name.write(0, cname, 0, cname.length);
        manager.clear();
        manager.setLong(0, LibExt2fs.ET_MAGIC_IO_MANAGER);
        manager.setPointer(MANAGER_NAME, name);
        manager.setPointer(MANAGER_OPEN, CallbackReference.getFunctionPointer(open));
        manager.setPointer(MANAGER_CLOSE, CallbackReference.getFunctionPointer(close));
        manager.setPointer(MANAGER_SET_BLKSIZE, CallbackReference.getFunctionPointer(setBlockSize));
        manager.setPointer(MANAGER_READ_BLK, CallbackReference.getFunctionPointer(read));
        manager.setPointer(MANAGER_WRITE_BLK, CallbackReference.getFunctionPointer(write));
        manager.setPointer(MANAGER_FLUSH, CallbackReference.getFunctionPointer(flush));
        manager.setPointer(MANAGER_READ_BLK64, CallbackReference.getFunctionPointer(read));
        manager.setPointer(MANAGER_WRITE_BLK64, CallbackReference.getFunctionPointer(write));
        manager.setPointer(MANAGER_ZEROOUT, CallbackReference.getFunctionPointer(zeroOut));
    }

    /** The {@code io_manager} to pass to {@code ext2fs_open}. */
    Pointer manager() {
        return manager;
    }

    Handle lower() {
        return lower;
    }

    /** The failure of the layer below behind the last error code libext2fs returned, or null; clears it. */
    IOException takeFailure() {
        IOException f = failure;
        failure = null;
        return f;
    }

    private long open(Pointer ignoredName, int flags, Pointer channelOut) {
        Memory channel = new Memory(CHANNEL_SIZE);
        channel.clear();
        channel.setLong(0, LibExt2fs.ET_MAGIC_IO_CHANNEL);
        channel.setPointer(CHANNEL_MANAGER, manager);
        channel.setPointer(CHANNEL_NAME, name);
        channel.setInt(CHANNEL_BLOCK_SIZE, 1024);
        channel.setInt(CHANNEL_REFCOUNT, 1);
        channels.put(Pointer.nativeValue(channel), channel);
        channelOut.setPointer(0, channel);
        return 0;
    }

    /** libext2fs never frees a channel itself: the last close does, here. */
    private long close(Pointer channel) {
        int references = channel.getInt(CHANNEL_REFCOUNT) - 1;
        channel.setInt(CHANNEL_REFCOUNT, references);
        if (references <= 0) {
            Memory m = channels.remove(Pointer.nativeValue(channel));
            if (m != null) {
                m.close();
            }
        }
        return 0;
    }

    private long setBlockSize(Pointer channel, int blockSize) {
        channel.setInt(CHANNEL_BLOCK_SIZE, blockSize);
        return 0;
    }

    /** {@code count} blocks of the channel's block size, or {@code -count} bytes when negative. */
    private long transfer(Pointer channel, long block, int count, Pointer data, boolean isWrite) {
        try {
            long blockSize = channel.getInt(CHANNEL_BLOCK_SIZE);
            long length = count < 0 ? -(long) count : count * blockSize;
            long offset = Math.multiplyExact(block, blockSize);
            if (length > Integer.MAX_VALUE) {
                throw new NbdException(NbdError.EINVAL, "a transfer of " + length + " bytes is too large");
            }
            if (isWrite) {
                lower.write(data.getByteBuffer(0, length), offset, 0);
                cache.wroteBelow(offset, (int) length, data);
            } else if (!cache.read(offset, (int) length, data)) {
                lower.read(data.getByteBuffer(0, length), offset, 0);
                cache.readFromBelow(offset, (int) length, data);
            }
            return 0;
        } catch (IOException e) {
            return fail(e);
        } catch (RuntimeException e) {
            return fail(new IOException(e.toString(), e));     // never let an exception unwind into C
        }
    }

    /** Zeroes blocks (libext2fs asks when it allocates them) through the layer below's write-zeroes. */
    private long zeroOut(Pointer channel, long block, long count) {
        try {
            long blockSize = channel.getInt(CHANNEL_BLOCK_SIZE);
            long offset = Math.multiplyExact(block, blockSize);
            long length = Math.multiplyExact(count, blockSize);
            lower.zero(offset, length, 0);
            cache.forget(offset, length);
            return 0;
        } catch (IOException e) {
            return fail(e);
        } catch (RuntimeException e) {
            return fail(new IOException(e.toString(), e));
        }
    }

    private long flush(Pointer channel) {
        try {
            if (lower.canFlush()) {
                lower.flush(0);
            }
            return 0;
        } catch (IOException e) {
            return fail(e);
        } catch (RuntimeException e) {
            return fail(new IOException(e.toString(), e));
        }
    }

    /** Remembers the failure and returns its errno, which libext2fs passes up as the call's error. */
    private long fail(IOException e) {
        failure = e;
        return NbdException.errorOf(e).code();
    }
}
