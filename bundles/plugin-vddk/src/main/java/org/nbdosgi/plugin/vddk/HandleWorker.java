package org.nbdosgi.plugin.vddk;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.plugin.vddk.VddkStats.Call;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.jna.Pointer;

/**
 * The one thread that calls VDDK for one open handle: VDDK forbids two threads on a handle, so
 * request threads queue commands here and wait for them (data plane). Reads and writes are issued
 * with ReadAsync/WriteAsync and the worker goes straight back to its queue, so many are in flight
 * on the handle at once; VDDK's completion callback, on a VDDK thread, completes each request. A
 * request's buffer is only handed back to the engine after its callback has run.
 */
final class HandleWorker {
    private static final Logger LOG = LoggerFactory.getLogger(HandleWorker.class);

    /** Something the worker runs; told to fail instead when the handle is closing. */
    private interface Command {
        void run();

        void abandon(IOException why);
    }

    /** A read or write in flight: its completion arrives on a VDDK thread. */
    private static final class Pending {
        final Call call;
        final long bytes;
        final CompletableFuture<Long> result = new CompletableFuture<>();
        long startNanos;

        Pending(Call call, long bytes) {
            this.call = call;
            this.bytes = bytes;
        }
    }

    private final VixDiskLib lib;
    private final Pointer handle;
    private final VddkStats stats;
    private final BlockingQueue<Command> queue = new LinkedBlockingQueue<>();
    private final Map<Long, Pending> inFlight = new ConcurrentHashMap<>();
    private final VixDiskLib.CompletionCallback onCompletion = this::completed;
    private final Thread thread;
    private long lastId;                        // worker thread only
    private boolean stopRequested;              // worker thread only
    private volatile boolean stopped;

    HandleWorker(VixDiskLib lib, Pointer handle, VddkStats stats, String name) {
        this.lib = lib;
        this.handle = handle;
        this.stats = stats;
        VixDiskLib.keepThreadsAttached(onCompletion, "vddk-completion");
        this.thread = Thread.ofPlatform().daemon().name(name).start(this::loop);
    }

    // ---- the worker thread ------------------------------------------------------------------

    private void loop() {
        while (!stopRequested) {
            Command c;
            try {
                c = queue.take();
            } catch (InterruptedException e) {
                continue;                           // only a stop command ends the worker
            }
            c.run();
        }
        stopped = true;
        NbdException closed = new NbdException(NbdError.ESHUTDOWN, "the VDDK handle is closed");
        for (Command c; (c = queue.poll()) != null; ) {
            c.abandon(closed);
        }
    }

    private void issue(Pending p, boolean write, Pointer buf, long sector, long count) {
        long id = ++lastId;                         // never 0: VDDK gets it back as a non-NULL data pointer
        inFlight.put(id, p);
        p.startNanos = System.nanoTime();
        long err = write ? lib.writeAsync(handle, sector, count, buf, onCompletion, new Pointer(id))
                : lib.readAsync(handle, sector, count, buf, onCompletion, new Pointer(id));
        if (err != VixDiskLib.VIX_ASYNC && inFlight.remove(id) != null) {
            stats.record(p.call, p.startNanos, p.bytes, err != VixDiskLib.VIX_OK);
            p.result.complete(err);                 // refused at once (or done synchronously: VIX_OK)
        }
    }

    /** VDDK's completion callback, on one of VDDK's threads. */
    private void completed(Pointer data, long result) {
        Pending p = inFlight.remove(Pointer.nativeValue(data));
        if (p == null) {
            LOG.warn("VDDK completed an unknown request {}", Pointer.nativeValue(data));
            return;
        }
        stats.record(p.call, p.startNanos, p.bytes, result != VixDiskLib.VIX_OK);
        p.result.complete(result);
    }

    private void checked(Call call, long err) throws VddkException {
        if (err != VixDiskLib.VIX_OK) {
            throw new VddkException(call.name(), err, lib.errorText(err));
        }
    }

    // ---- request threads --------------------------------------------------------------------

    /** Something to run on the worker, with the handle to itself. */
    interface Task<T> {
        T run(VixDiskLib lib, Pointer handle) throws IOException;
    }

    /** Runs {@code task} on the worker and waits for it. */
    <T> T call(Task<T> task) throws IOException {
        CompletableFuture<T> f = new CompletableFuture<>();
        submit(new Command() {
            @Override
            public void run() {
                try {
                    f.complete(task.run(lib, handle));
                } catch (IOException | RuntimeException e) {
                    f.completeExceptionally(e);
                }
            }

            @Override
            public void abandon(IOException why) {
                f.completeExceptionally(why);
            }
        });
        return await(f);
    }

    /** Reads {@code count} sectors into {@code buf} (native memory that stays valid until this returns). */
    void read(Pointer buf, long sector, long count) throws IOException {
        io(false, buf, sector, count);
    }

    void write(Pointer buf, long sector, long count) throws IOException {
        io(true, buf, sector, count);
    }

    private void io(boolean write, Pointer buf, long sector, long count) throws IOException {
        Pending p = new Pending(write ? Call.WriteAsync : Call.ReadAsync, count * VixDiskLib.SECTOR);
        submit(new Command() {
            @Override
            public void run() {
                issue(p, write, buf, sector, count);
            }

            @Override
            public void abandon(IOException why) {
                p.result.complete(-1L);
            }
        });
        // join() ignores interrupts: the buffer must not go back to the engine while VDDK may still use it
        long result = p.result.join();
        if (result == -1L) {
            throw new NbdException(NbdError.ESHUTDOWN, "the VDDK handle is closed");
        }
        if (result != VixDiskLib.VIX_OK) {
            throw new VddkException(p.call.name(), result, lib.errorText(result));
        }
    }

    /** Waits for every read and write in flight on the handle, then flushes it. */
    void flush() throws IOException {
        call((l, h) -> {
            waitForAll();
            long start = System.nanoTime();
            long err = l.flush(h);
            stats.record(Call.Flush, start, 0, err != VixDiskLib.VIX_OK);
            checked(Call.Flush, err);
            return null;
        });
    }

    private void waitForAll() throws VddkException {
        long start = System.nanoTime();
        long err = lib.waitAll(handle);
        stats.record(Call.Wait, start, 0, err != VixDiskLib.VIX_OK);
        checked(Call.Wait, err);
    }

    /**
     * Control plane: waits for the requests in flight, then ends the worker. Afterwards no thread
     * calls VDDK for the handle, so it may be closed.
     */
    void stop() throws IOException {
        try {
            call((l, h) -> {
                stopRequested = true;
                waitForAll();
                return null;
            });
        } finally {
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (!inFlight.isEmpty()) {
                LOG.warn("{} VDDK requests still in flight after Wait", inFlight.size());
            }
        }
    }

    private void submit(Command c) throws NbdException {
        if (stopped) {
            throw new NbdException(NbdError.ESHUTDOWN, "the VDDK handle is closed");
        }
        queue.add(c);
        if (stopped && queue.remove(c)) {           // raced with the worker's last drain
            throw new NbdException(NbdError.ESHUTDOWN, "the VDDK handle is closed");
        }
    }

    private static <T> T await(CompletableFuture<T> f) throws IOException {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw e;
        }
    }
}
