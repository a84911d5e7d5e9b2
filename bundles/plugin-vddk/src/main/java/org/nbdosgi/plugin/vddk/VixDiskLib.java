package org.nbdosgi.plugin.vddk;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ConfigException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.Callback;
import com.sun.jna.CallbackThreadInitializer;
import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * VMware's libvixDiskLib, loaded by absolute path through JNA, with its functions looked up one by
 * one (the optional ones may be missing in older VDDKs). Thin typed wrappers; no VDDK threading
 * rule is enforced here: {@link HandleWorker} and {@link VddkRuntime} do that. Log callbacks from
 * VDDK go to SLF4J.
 */
public final class VixDiskLib {
    private static final Logger LOG = LoggerFactory.getLogger("org.nbdosgi.plugin.vddk.VDDK");

    static final long VIX_OK = 0;
    static final long VIX_ASYNC = 25000;
    static final int SECTOR = 512;
    static final long MIN_CHUNK = 128;
    static final long MAX_CHUNK_NUMBER = 512 * 1024;
    static final int OPEN_UNBUFFERED = 1;
    static final int OPEN_SINGLE_LINK = 2;
    static final int OPEN_READ_ONLY = 4;

    private static final int RTLD_NOW = 2;
    private static final int INFO_CAPACITY_OFFSET = 24;
    private static final int BLOCK_LIST_ARRAY_OFFSET = 8;

    /** {@code void log(const char *fmt, va_list args)}. */
    public interface LogFunction extends Callback {
        void invoke(Pointer fmt, Pointer args);
    }

    /** {@code void cb(void *data, VixError result)}, called on one of VDDK's threads. */
    public interface CompletionCallback extends Callback {
        void invoke(Pointer data, long result);
    }

    private final Path path;
    private final Function initEx;
    private final Function exit;
    private final Function getErrorText;
    private final Function freeErrorText;
    private final Function connectEx;
    private final Function disconnect;
    private final Function open;
    private final Function close;
    private final Function getInfo;
    private final Function freeInfo;
    private final Function readAsync;
    private final Function writeAsync;
    private final Function waitAll;
    private final Function flush;
    private final Function queryAllocatedBlocks;
    private final Function freeBlockList;
    private final Function allocateConnectParams;
    private final Function freeConnectParams;
    private final Function getTransportMode;
    private final Function create;
    private final Function vsnprintf;
    private final LogFunction logDebug = (fmt, args) -> log(0, fmt, args);
    private final LogFunction logWarn = (fmt, args) -> log(1, fmt, args);
    private final LogFunction logPanic = (fmt, args) -> log(2, fmt, args);
    /** The thread probing QueryAllocatedBlocks: its VDDK warnings are expected and go to DEBUG. */
    private final ThreadLocal<Boolean> quiet = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private VixDiskLib(Path path, NativeLibrary lib) throws ConfigException {
        this.path = path;
        List<String> missing = new ArrayList<>();
        initEx = required(lib, "InitEx", missing);
        exit = required(lib, "Exit", missing);
        getErrorText = required(lib, "GetErrorText", missing);
        freeErrorText = required(lib, "FreeErrorText", missing);
        connectEx = required(lib, "ConnectEx", missing);
        disconnect = required(lib, "Disconnect", missing);
        open = required(lib, "Open", missing);
        close = required(lib, "Close", missing);
        getInfo = required(lib, "GetInfo", missing);
        freeInfo = required(lib, "FreeInfo", missing);
        readAsync = required(lib, "ReadAsync", missing);
        writeAsync = required(lib, "WriteAsync", missing);
        waitAll = required(lib, "Wait", missing);
        if (!missing.isEmpty()) {
            throw new ConfigException("libdir: " + path + " lacks " + String.join(", ", missing)
                    + " (VDDK 6.5 or later is needed)");
        }
        flush = optional(lib, "Flush");
        queryAllocatedBlocks = optional(lib, "QueryAllocatedBlocks");
        freeBlockList = optional(lib, "FreeBlockList");
        allocateConnectParams = optional(lib, "AllocateConnectParams");
        freeConnectParams = optional(lib, "FreeConnectParams");
        getTransportMode = optional(lib, "GetTransportMode");
        create = optional(lib, "Create");
        vsnprintf = NativeLibrary.getInstance("c").getFunction("vsnprintf");
    }

    /** Loads the library found by {@link LibraryLocator}. Control plane. */
    static VixDiskLib load(Path library) throws ConfigException {
        NativeLibrary lib;
        try {
            lib = NativeLibrary.getInstance(library.toString(), Map.of(Library.OPTION_OPEN_FLAGS, RTLD_NOW));
        } catch (UnsatisfiedLinkError e) {
            throw new ConfigException("libdir: cannot load " + library + ": " + e.getMessage(), e);
        }
        return new VixDiskLib(library, lib);
    }

    private static Function required(NativeLibrary lib, String name, List<String> missing) {
        Function f = optional(lib, name);
        if (f == null) {
            missing.add("VixDiskLib_" + name);
        }
        return f;
    }

    private static Function optional(NativeLibrary lib, String name) {
        try {
            return lib.getFunction("VixDiskLib_" + name);
        } catch (UnsatisfiedLinkError absent) {
            return null;
        }
    }

    Path path() {
        return path;
    }

    boolean hasFlush() {
        return flush != null;
    }

    boolean hasQueryAllocatedBlocks() {
        return queryAllocatedBlocks != null && freeBlockList != null;
    }

    boolean hasCreate() {
        return create != null;
    }

    // ---- process lifetime -------------------------------------------------------------------

    long initEx(Path libdir, String configFile) {
        return initEx.invokeLong(new Object[] {6, 5, logDebug, logWarn, logPanic, libdir.toString(), configFile});
    }

    void exit() {
        exit.invokeVoid(new Object[0]);
    }

    /** VDDK's text for an error code, e.g. "The file was not found". */
    String errorText(long error) {
        Pointer text = getErrorText.invokePointer(new Object[] {error, null});
        if (text == null) {
            return "VDDK error " + error;
        }
        try {
            return text.getString(0) + " (VDDK error " + error + ")";
        } finally {
            freeErrorText.invokeVoid(new Object[] {text});
        }
    }

    // ---- connections and handles (under VddkRuntime's open/close lock) ----------------------

    /** A zeroed VixDiskLibConnectParams, from VDDK when it can allocate one. */
    Pointer allocateConnectParams() {
        if (allocateConnectParams != null && freeConnectParams != null) {
            return allocateConnectParams.invokePointer(new Object[0]);
        }
        Memory m = new Memory(ConnectParams.SIZE);
        m.clear();
        return m;
    }

    void freeConnectParams(Pointer params) {
        if (!(params instanceof Memory)) {
            freeConnectParams.invokeVoid(new Object[] {params});
        }
    }

    long connectEx(Pointer params, boolean readOnly, String snapshot, String transports, PointerByReference out) {
        return connectEx.invokeLong(new Object[] {params, (byte) (readOnly ? 1 : 0), snapshot, transports, out});
    }

    long disconnect(Pointer connection) {
        return disconnect.invokeLong(new Object[] {connection});
    }

    long open(Pointer connection, String file, int flags, PointerByReference out) {
        return open.invokeLong(new Object[] {connection, file, flags, out});
    }

    long close(Pointer handle) {
        return close.invokeLong(new Object[] {handle});
    }

    String transportMode(Pointer handle) {
        if (getTransportMode == null) {
            return "unknown";
        }
        Pointer mode = getTransportMode.invokePointer(new Object[] {handle});
        return mode == null ? "unknown" : mode.getString(0);
    }

    long create(Pointer connection, String file, CreateParams params) {
        Memory p = params.toNative();
        return create.invokeLong(new Object[] {connection, file, p, null, null});
    }

    // ---- per-handle calls (on the handle's worker thread only) ------------------------------

    /** The capacity in sectors, or a negative VDDK error code. */
    long capacity(Pointer handle) {
        PointerByReference info = new PointerByReference();
        long err = getInfo.invokeLong(new Object[] {handle, info});
        if (err != VIX_OK) {
            return -err;
        }
        try {
            return info.getValue().getLong(INFO_CAPACITY_OFFSET);
        } finally {
            freeInfo.invokeVoid(new Object[] {info.getValue()});
        }
    }

    long readAsync(Pointer handle, long sector, long count, Pointer buf, CompletionCallback cb, Pointer data) {
        return readAsync.invokeLong(new Object[] {handle, sector, count, buf, cb, data});
    }

    long writeAsync(Pointer handle, long sector, long count, Pointer buf, CompletionCallback cb, Pointer data) {
        return writeAsync.invokeLong(new Object[] {handle, sector, count, buf, cb, data});
    }

    long waitAll(Pointer handle) {
        return waitAll.invokeLong(new Object[] {handle});
    }

    long flush(Pointer handle) {
        return flush.invokeLong(new Object[] {handle});
    }

    /** The allocated blocks as {offset, length} sector pairs, flattened; or throws with VDDK's error. */
    long[] queryAllocatedBlocks(Pointer handle, long start, long count, long chunk) throws VddkException {
        PointerByReference out = new PointerByReference();
        long err = queryAllocatedBlocks.invokeLong(new Object[] {handle, start, count, chunk, out});
        if (err != VIX_OK) {
            throw new VddkException("QueryAllocatedBlocks", err, errorText(err));
        }
        Pointer list = out.getValue();
        try {
            int n = list.getInt(0);
            return list.getLongArray(BLOCK_LIST_ARRAY_OFFSET, 2 * n);
        } finally {
            freeBlockList.invokeLong(new Object[] {list});
        }
    }

    /** Runs {@code r} with VDDK's warnings on this thread turned into debug messages. */
    <T, E extends Exception> T quietly(QuietCall<T, E> r) throws E {
        quiet.set(Boolean.TRUE);
        try {
            return r.call();
        } finally {
            quiet.set(Boolean.FALSE);
        }
    }

    interface QuietCall<T, E extends Exception> {
        T call() throws E;
    }

    /** Keeps VDDK's completion threads attached to the JVM (as daemons) instead of attaching per callback. */
    static void keepThreadsAttached(CompletionCallback cb, String name) {
        Native.setCallbackThreadInitializer(cb, new CallbackThreadInitializer(true, false, name));
    }

    // ---- VDDK's log callbacks, on any thread ------------------------------------------------

    private void log(int level, Pointer fmt, Pointer args) {
        boolean quietHere = quiet.get();
        boolean wanted = switch (level) {
            case 0 -> LOG.isDebugEnabled();
            case 1 -> quietHere ? LOG.isDebugEnabled() : LOG.isWarnEnabled();
            default -> LOG.isErrorEnabled();
        };
        if (!wanted || fmt == null) {
            return;
        }
        Memory buf = new Memory(2048);
        vsnprintf.invokeInt(new Object[] {buf, 2048L, fmt, args});
        String text = buf.getString(0).strip();
        if (level == 0 || (level == 1 && quietHere)) {
            LOG.debug("{}", text);
        } else if (level == 1) {
            LOG.warn("{}", text);
        } else {
            LOG.error("VDDK panic: {}", text);
        }
    }
}
