package org.nbdosgi.itests;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.Support;
import org.nbdosgi.api.ThreadModel;

/**
 * A plugin the Pax Exam tests register from the probe: a byte-array disk that records what the
 * engine asks of it, measures concurrency, and can be told to misbehave.
 * Parameters: size, model (thread model), delay-ms (per read), bug-at (offset whose read throws),
 * exports (names it serves, each its own disk: the k-th is (k+1) times size), default (its
 * canonical name for ""), rotational, nonblocking (says it never waits, though delay-ms may make it),
 * kernel (says it blocks in the kernel), cachedwrites (says writes of whole pages never wait),
 * cached-below (reads that end at or below it are read at once, without the delay);
 * {@link #holdWrites} makes writes wait for the test.
 */
public final class TestPlugin implements Plugin {
    public final List<String> calls = new CopyOnWriteArrayList<>();
    public final List<String> openedNames = new CopyOnWriteArrayList<>();
    /** The name of the thread each read ran on. */
    public final List<String> readThreads = new CopyOnWriteArrayList<>();
    /** Each write's offset and the name of the thread it ran on ("OFFSET THREAD"). */
    public final List<String> writeThreads = new CopyOnWriteArrayList<>();
    public final AtomicInteger open = new AtomicInteger();
    public final AtomicInteger closed = new AtomicInteger();
    public final AtomicInteger concurrent = new AtomicInteger();
    public final AtomicInteger maxConcurrent = new AtomicInteger();
    /** Writes that have reached the plugin (running or held). */
    public final AtomicInteger writesArrived = new AtomicInteger();
    /** While set, each write waits for it before it stores its data. */
    public volatile CountDownLatch holdWrites;
    /** The value of the secret parameter {@code key} the last instance was created with. */
    public volatile String key;
    private final Map<String, byte[]> disks = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "test";
    }

    @Override
    public String description() {
        return "a recording test disk";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.required("size", "bytes"), Parameter.of("model", "thread model"),
                Parameter.of("delay-ms", "sleep per read"), Parameter.of("bug-at", "reads covering this offset throw"),
                Parameter.of("exports", "comma-separated names served"), Parameter.of("default", "the name for \"\""),
                Parameter.of("rotational", "says it is a rotating disk"), Parameter.of("nonblocking", "says it never waits"),
                Parameter.of("kernel", "says it blocks in the kernel"),
                Parameter.of("cachedwrites", "says writes of whole 4 KiB pages without FUA never wait"),
                Parameter.of("cached-below", "reads ending at or below this offset are read at once from its cache"),
                Parameter.secret("key", "a secret (named unlike one)"));
    }

    @Override
    public String magicParameter() {
        return "size";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        int size = (int) config.size("size", 0);
        ThreadModel model = config.choice("model", ThreadModel.class, ThreadModel.PARALLEL);
        int delay = config.integer("delay-ms", 0);
        long bugAt = config.size("bug-at", -1);
        List<String> names = config.has("exports") ? List.of(config.require("exports").split(",")) : List.of();
        String defaultName = config.get("default", "");
        boolean rotational = config.bool("rotational", false);
        boolean nonBlocking = config.bool("nonblocking", false);
        boolean blocksInKernel = config.bool("kernel", false);
        boolean cachedWrites = config.bool("cachedwrites", false);
        long cachedBelow = config.size("cached-below", 0);
        key = config.get("key", null);
        return new PluginInstance() {
            @Override
            public ThreadModel threadModel() {
                return model;
            }

            @Override
            public List<ExportEntry> listExports(boolean readOnly) {
                return names.stream().map(n -> new ExportEntry(n, "disk " + n)).toList();
            }

            @Override
            public String defaultExport() {
                return defaultName;
            }

            @Override
            public Handle open(ClientContext client) throws IOException {
                String name = client.exportName();
                int index = names.isEmpty() ? 0 : names.indexOf(name);
                if (index < 0) {
                    throw new NbdException(NbdError.EINVAL, "test serves " + names + ", not '" + name + "'");
                }
                byte[] disk = disks.computeIfAbsent(export.exportName() + "/" + (names.isEmpty() ? "" : name),
                        k -> new byte[size * (index + 1)]);
                open.incrementAndGet();
                openedNames.add(name);
                return new Handle() {
                    @Override
                    public long size() {
                        return disk.length;
                    }

                    @Override
                    public boolean canWrite() {
                        return true;
                    }

                    @Override
                    public boolean canFlush() {
                        return true;
                    }

                    @Override
                    public Support canCache() {
                        return Support.EMULATE;
                    }

                    @Override
                    public boolean isRotational() {
                        return rotational;
                    }

                    @Override
                    public boolean isNonBlocking() {
                        return nonBlocking;
                    }

                    @Override
                    public boolean blocksInKernel() {
                        return blocksInKernel;
                    }

                    @Override
                    public boolean readCached(ByteBuffer buf, long offset, int flags) {
                        if (offset + buf.remaining() > cachedBelow) {
                            return false;
                        }
                        readThreads.add(Thread.currentThread().getName());
                        calls.add("read " + offset + "+" + buf.remaining());
                        buf.duplicate().put(disk, (int) offset, buf.remaining());
                        return true;
                    }

                    @Override
                    public boolean writesToCache(long offset, long length, int flags) {
                        return cachedWrites && ((offset | length) & 4095) == 0 && !Flags.has(flags, Flags.FUA);
                    }

                    @Override
                    public String description() {
                        return "test disk '" + name + "'";
                    }

                    @Override
                    public void read(ByteBuffer buf, long offset, int flags) throws IOException {
                        readThreads.add(Thread.currentThread().getName());
                        int now = concurrent.incrementAndGet();
                        maxConcurrent.accumulateAndGet(now, Math::max);
                        try {
                            if (bugAt >= offset && bugAt < offset + buf.remaining()) {
                                throw new IllegalStateException("a bug at " + offset);
                            }
                            if (delay > 0) {
                                Thread.sleep(delay);
                            }
                            calls.add("read " + offset + "+" + buf.remaining());
                            buf.duplicate().put(disk, (int) offset, buf.remaining());
                        } catch (InterruptedException e) {
                            throw new IOException(e);
                        } finally {
                            concurrent.decrementAndGet();
                        }
                    }

                    @Override
                    public void write(ByteBuffer buf, long offset, int flags) throws IOException {
                        writesArrived.incrementAndGet();
                        writeThreads.add(offset + " " + Thread.currentThread().getName());
                        CountDownLatch hold = holdWrites;
                        try {
                            if (hold != null && !hold.await(60, TimeUnit.SECONDS)) {
                                throw new IOException("writes were held for a minute");
                            }
                        } catch (InterruptedException e) {
                            throw new IOException(e);
                        }
                        calls.add("write " + offset + "+" + buf.remaining() + " flags=" + flags);
                        buf.duplicate().get(disk, (int) offset, buf.remaining());
                    }

                    @Override
                    public void flush(int flags) {
                        calls.add("flush");
                    }

                    @Override
                    public void close() {
                        closed.incrementAndGet();
                    }
                };
            }
        };
    }
}
