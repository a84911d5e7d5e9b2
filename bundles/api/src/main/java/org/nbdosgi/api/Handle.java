package org.nbdosgi.api;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One layer's view of one client connection: its capabilities and its data operations, the
 * callbacks of an nbdkit plugin in Java shape.
 *
 * <p><b>Capabilities</b> are asked once, right after the handle is opened, as one
 * {@link Capabilities} record ({@link #capabilities()}), and cached by the engine; they must not
 * change while the handle is open. A handle either overrides the parts it changes ({@link #size()}
 * to {@link #description()}, which {@link #capabilities()} gathers) or answers the whole record.
 * The defaults describe a read-only layer that supports nothing but {@link #read}.
 *
 * <p><b>Data operations</b> run on the data plane: on any (virtual) thread, as many at once as the
 * export's {@link ThreadModel} allows. The engine checks every request against the layer's size
 * before calling, so {@code offset + length <= size()} always holds. A layer is only asked to do
 * what its capabilities offered, except that zero, FUA and cache are emulated by the engine
 * directly above a layer that answers {@link Support#EMULATE} for them (see {@link Capabilities}).
 *
 * <p><b>Buffers</b>: {@code read} fills and {@code write} consumes the bytes between the buffer's
 * position and limit. Implementations must leave position and limit as they found them (use
 * absolute access, {@code duplicate()} or {@code slice()}). The engine passes direct buffers from a
 * pool, so they can go to native code without a copy; they belong to the engine again when the
 * call returns, so never keep a reference.
 *
 * <p><b>Errors</b>: throw {@link NbdException} for a specific NBD error, any other
 * {@link IOException} for EIO. A {@link RuntimeException} is treated as a bug: logged, EIO.
 */
public interface Handle extends AutoCloseable {

    /** Size of the export in bytes. */
    long size() throws IOException;

    /** Block size constraints; {@link BlockSize#DEFAULT} unless the layer has alignment needs. */
    default BlockSize blockSize() throws IOException {
        return BlockSize.DEFAULT;
    }

    default boolean canWrite() throws IOException {
        return false;
    }

    default boolean canFlush() throws IOException {
        return false;
    }

    /** Trim is only offered to writable clients. */
    default boolean canTrim() throws IOException {
        return false;
    }

    /**
     * {@link Support#NATIVE} when {@link #zero} is implemented; {@link Support#EMULATE} (the
     * default) lets the engine write zeros instead. Only offered to writable clients.
     */
    default Support canZero() throws IOException {
        return Support.EMULATE;
    }

    /** Whether a FAST_ZERO request may be tried (it may still fail quickly with ENOTSUP). */
    default boolean canFastZero() throws IOException {
        return canZero() == Support.NATIVE;
    }

    default boolean canExtents() throws IOException {
        return false;
    }

    /** {@link Support#EMULATE}: the engine follows each FUA write with a flush. */
    default Support canFua() throws IOException {
        return canFlush() ? Support.EMULATE : Support.NONE;
    }

    /** Whether flush and FUA on one connection are visible on all connections of the export. */
    default boolean canMultiConn() throws IOException {
        return false;
    }

    /** {@link Support#EMULATE}: the engine serves NBD_CMD_CACHE by reading and discarding. */
    default Support canCache() throws IOException {
        return Support.NONE;
    }

    default boolean isRotational() throws IOException {
        return false;
    }

    /**
     * Whether every operation finishes by computing alone, in microseconds: it never waits for I/O,
     * a sleep, another thread, or a lock held across such a wait. The engine then runs the
     * connection's requests one after another on the thread that reads them, which saves handing
     * each to a thread of its own; a layer that may wait must answer false (the default), or it
     * would hold up every request of its connection behind it.
     */
    default boolean isNonBlocking() throws IOException {
        return false;
    }

    /**
     * Whether the layer waits in blocking system calls on the calling thread (file I/O on a device).
     * The engine then runs requests on platform worker threads, as nbdkit's workers, instead of
     * virtual threads: a virtual thread blocked in a file read holds one of the few carrier threads,
     * and handing the wait to another thread costs two thread wake-ups per request. Asked once when
     * the handle opens.
     */
    default boolean blocksInKernel() throws IOException {
        return false;
    }

    /**
     * Reads only if no device must be waited for: when the page cache holds every byte (preadv2
     * with RWF_NOWAIT), fills {@code buf} as {@link #read} does and returns true; otherwise returns
     * false, and whatever it put in {@code buf} does not count. Asked on the connection's reader
     * for a read of a chain that {@link #blocksInKernel()} before the read goes to a platform
     * worker: a read the cache holds then costs no thread wake-up, one that must wait one system
     * call more. False (the default) for a layer that cannot tell. {@link FilterHandle} does not
     * pass it through; a filter that adds no wait of its own may. Data plane.
     */
    default boolean readCached(ByteBuffer buf, long offset, int flags) throws IOException {
        return false;
    }

    /**
     * Whether this write normally finishes without waiting for a device: a buffered write of whole
     * memory pages, which lands in the kernel's page cache (a file on a device opened without
     * cache=none, and no FUA). Asked before each write of a chain that {@link #blocksInKernel()}:
     * the engine then runs that write on the connection's reader, as it runs every request of a
     * chain that never waits, instead of handing it to a platform worker. A write that may wait for
     * the device (part of a page that is not cached must be read first; FUA syncs) must answer
     * false, the default; it would hold up the connection's next requests. {@link FilterHandle}
     * does not pass it through; a filter that adds no wait of its own may. Data plane: cheap,
     * computed from the arguments.
     *
     * @param flags {@link Flags#FUA} if the write will be asked to reach stable storage
     */
    default boolean writesToCache(long offset, long length, int flags) throws IOException {
        return false;
    }

    /** A human-readable description of the export for NBD_INFO_DESCRIPTION, or null. */
    default String description() throws IOException {
        return null;
    }

    /**
     * Everything the engine needs to know about this handle, asked once when it opens. The default
     * gathers {@link #size()} to {@link #description()}.
     */
    default Capabilities capabilities() throws IOException {
        return new Capabilities(size(), blockSize(), canWrite(), canFlush(), canTrim(), canZero(), canFastZero(),
                canFua(), canMultiConn(), canCache(), canExtents(), isRotational(), isNonBlocking(), description());
    }

    /** Reads {@code buf.remaining()} bytes at {@code offset} into {@code buf}. */
    void read(ByteBuffer buf, long offset, int flags) throws IOException;

    /**
     * Lends the {@code length} bytes at {@code offset} instead of copying them: views of the layer's
     * own memory that together hold exactly those bytes, in order, each from its position to its
     * limit; or null when the layer does not lend (the default), and the engine calls {@link #read}.
     * The engine writes the views to the client after this call returns and only reads them. So
     * lend only memory that stays valid while any view of it is referenced (direct buffers the
     * garbage collector frees, never memory released by hand), and only bytes that need no
     * transformation: a byte changed by a write that runs meanwhile may go out old or new, which
     * NBD allows, as the client sent that write before it had this read's reply. A filter's
     * {@link FilterHandle} does not lend unless it overrides this. On a layer that
     * {@link #blocksInKernel()}, the engine asks on the connection's reader, as it asks
     * {@link #readCached}: lend only bytes there without waiting for a device (null otherwise),
     * since the thread that writes the views out would wait for it instead.
     */
    default ByteBuffer[] lend(long offset, int length, int flags) throws IOException {
        return null;
    }

    /** Writes {@code buf.remaining()} bytes at {@code offset}; with {@link Flags#FUA}, persist first. */
    default void write(ByteBuffer buf, long offset, int flags) throws IOException {
        throw new NbdException(NbdError.EPERM, "this export is read-only");
    }

    /** Persists every write that has been acknowledged. */
    default void flush(int flags) throws IOException {
        throw new NbdException(NbdError.EINVAL, "flush is not supported");
    }

    /** Discards a range; may do nothing, or only part of it. */
    default void trim(long offset, long length, int flags) throws IOException {
        throw new NbdException(NbdError.EINVAL, "trim is not supported");
    }

    /**
     * Writes zeros over a range; may punch a hole when {@link Flags#MAY_TRIM} is set. With
     * {@link Flags#FAST_ZERO} it must fail at once with ENOTSUP unless zeroing is fast. Throwing
     * ENOTSUP without FAST_ZERO makes the engine fall back to writing zeros.
     */
    default void zero(long offset, long length, int flags) throws IOException {
        throw new NbdException(NbdError.ENOTSUP, "zero is not supported");
    }

    /** Describes allocation from {@code offset} onwards into {@code extents} (at least one extent). */
    default void extents(long offset, long length, int flags, Extents extents) throws IOException {
        extents.add(offset, length, 0);
    }

    /**
     * Describes {@code offset} onwards in one meta context (see {@link Layer#metaContexts()}). The
     * default answers {@link Extents#BASE_ALLOCATION} by {@link #extents(long, long, int, Extents)}
     * and refuses any other context with ENOTSUP.
     */
    default void extents(String context, long offset, long length, int flags, Extents extents) throws IOException {
        if (!Extents.BASE_ALLOCATION.equals(context)) {
            throw new NbdException(NbdError.ENOTSUP, "no meta context " + context);
        }
        extents(offset, length, flags, extents);
    }

    /** Prefetches a range into whatever cache the layer has. */
    default void cache(long offset, long length, int flags) throws IOException {
    }

    /** Releases this handle's resources. Called once, after the last operation, on the control plane. */
    @Override
    default void close() throws IOException {
    }
}
