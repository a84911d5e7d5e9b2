package org.nbdosgi.plugin.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.api.Support;
import org.nbdosgi.api.Units;
import org.osgi.service.component.annotations.Component;

/**
 * {@code memory [size=]SIZE}: a sparse RAM disk. Pages of 32 KiB are allocated on first write and
 * freed by trim and zero, so memory use follows the data written, not the virtual size (up to
 * 2^63-1 bytes). The disk lives as long as its export, and survives a hot swap of this bundle.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=memory")
public final class MemoryPlugin implements Plugin {
    static final int PAGE_SHIFT = 15;
    static final int PAGE_SIZE = 1 << PAGE_SHIFT;

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public String description() {
        return "a sparse RAM disk";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.required("size", "virtual size, e.g. 1G (suffixes K M G T P E), up to 2^63-1"),
                Parameter.of("allocator", "sparse (default) or malloc: both are the same sparse pages here; zstd is refused"));
    }

    @Override
    public String magicParameter() {
        return "size";
    }

    @Override
    public String help() {
        return "Examples:\n  nbd-osgi memory 1G\n  nbd-osgi memory size=7E";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        long size = config.size("size", -1);
        checkAllocator(config.get("allocator", "sparse"));
        // a predecessor's pages are adopted; a smaller successor drops what lies beyond its end
        Pages pages = export.inheritedState()
                .filter(s -> s instanceof Map<?, ?> m && m.get("root") != null)
                .map(s -> Pages.adopt(size, (Map<?, ?>) s))
                .orElseGet(() -> Pages.empty(size));
        return new Instance(size, pages);
    }

    /**
     * nbdkit's allocator=: sparse and malloc are both served by {@link Pages} (allocated on first
     * write, lock-free, freed by trim): nbdkit's malloc trades sparseness for speed, which these
     * pages do not need to. Compression (zstd) and locking pages in RAM (mlock) are not available.
     */
    private static void checkAllocator(String allocator) throws ConfigException {
        String[] parts = allocator.trim().split(",");
        switch (parts[0]) {
            case "sparse", "malloc" -> {
                for (int i = 1; i < parts.length; i++) {
                    if (parts[0].equals("malloc") && parts[i].equals("mlock=false")) {
                        continue;
                    }
                    throw new ConfigException("allocator: '" + parts[i] + "' is not supported"
                            + (parts[i].startsWith("mlock") ? " (the JVM cannot lock its memory in RAM)" : ""));
                }
            }
            case "zstd" -> throw new ConfigException("allocator: zstd is not supported (the pages are not compressed; use sparse)");
            default -> throw new ConfigException("allocator: '" + allocator + "' is not one of sparse, malloc, zstd");
        }
    }

    /** One export's disk. */
    private record Instance(long size, Pages pages) implements PluginInstance {
        @Override
        public Handle open(ClientContext client) {
            return new MemoryHandle(size, pages);
        }

        /** The pages pass to a successor of this bundle as JDK types (see {@link Pages#state()}). */
        @Override
        public Object handOver() {
            return pages.state();
        }
    }

    /** The per-connection view; all state is in {@link Pages}, shared by every connection. */
    private record MemoryHandle(long size, Pages pages) implements Handle {
        @Override
        public long size() {
            return size;
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
        public boolean canTrim() {
            return true;
        }

        @Override
        public Support canZero() {
            return Support.NATIVE;
        }

        @Override
        public boolean canFastZero() {
            return true;
        }

        @Override
        public boolean canExtents() {
            return true;
        }

        @Override
        public Support canFua() {
            return Support.NATIVE;                      // RAM: written is as persistent as it gets
        }

        @Override
        public boolean canMultiConn() {
            return true;
        }

        @Override
        public Support canCache() {
            return Support.NATIVE;
        }

        @Override
        public boolean isNonBlocking() {
            return true;                                // lock-free copies in RAM
        }

        @Override
        public void read(ByteBuffer buf, long offset, int flags) {
            pages.read(buf, offset);
        }

        /** No copy: the pages themselves go to the client (a page freed meanwhile lives on while viewed). */
        @Override
        public ByteBuffer[] lend(long offset, int length, int flags) {
            return pages.lend(offset, length);
        }

        @Override
        public void write(ByteBuffer buf, long offset, int flags) throws IOException {
            pages.write(buf, offset);
        }

        @Override
        public void flush(int flags) {
        }

        @Override
        public void trim(long offset, long length, int flags) {
            pages.zero(offset, length);
        }

        @Override
        public void zero(long offset, long length, int flags) {
            pages.zero(offset, length);
        }

        @Override
        public void extents(long offset, long length, int flags, Extents extents) throws IOException {
            pages.extents(offset, length, extents);
        }

        @Override
        public void cache(long offset, long length, int flags) {
        }
    }
}
