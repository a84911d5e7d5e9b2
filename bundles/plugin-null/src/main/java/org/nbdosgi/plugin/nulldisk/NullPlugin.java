package org.nbdosgi.plugin.nulldisk;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

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
import org.osgi.service.component.annotations.Component;

/**
 * {@code null [[size=]SIZE]}: nbdkit's bit bucket. Everything written is discarded and everything
 * reads back as zeros; the size defaults to 0. Tools probe for a filter with it
 * ({@code nbd-osgi null --filter=F --version}), and with nothing behind it, it is the engine's
 * ceiling in benchmarks.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=null")
public final class NullPlugin implements Plugin {

    @Override
    public String name() {
        return "null";
    }

    @Override
    public String description() {
        return "a bit bucket: writes are discarded, reads return zeros";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.of("size", "virtual size, e.g. 1G (suffixes K M G T P E), up to 2^63-1 (default 0)"));
    }

    @Override
    public String magicParameter() {
        return "size";
    }

    @Override
    public String help() {
        return "Examples:\n  nbd-osgi null 1G\n  nbd-osgi null --filter=delay --version";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        long size = config.size("size", 0);
        return client -> new NullHandle(size);
    }

    /** What reads copy from: zeros, never written. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    /** Stateless: every connection sees the same nothing. */
    record NullHandle(long size) implements Handle {
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
            return Support.NATIVE;
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
            return true;                                // nothing to wait for
        }

        @Override
        public void read(ByteBuffer buf, long offset, int flags) {
            ByteBuffer b = buf.duplicate();
            while (b.hasRemaining()) {
                b.put(ZEROS.duplicate().limit(Math.min(b.remaining(), ZEROS.capacity())));
            }
        }

        @Override
        public void write(ByteBuffer buf, long offset, int flags) {
        }

        @Override
        public void flush(int flags) {
        }

        @Override
        public void trim(long offset, long length, int flags) {
        }

        @Override
        public void zero(long offset, long length, int flags) {
        }

        @Override
        public void extents(long offset, long length, int flags, Extents extents) throws IOException {
            extents.add(offset, length, Extents.HOLE | Extents.ZERO);
        }

        @Override
        public void cache(long offset, long length, int flags) {
        }
    }
}
