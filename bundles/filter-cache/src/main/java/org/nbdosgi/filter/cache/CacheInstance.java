package org.nbdosgi.filter.cache;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.MetricSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cache filter of one export. A layer below that serves one thing whatever name a client asks
 * for (it lists no export names: a file, a memory disk) gets one cache, created with the export so
 * a bad cache directory shows at once. A layer below that lists names (a directory of files) gets a
 * cache per name, created when the first client asks for that name, so two files never share cached
 * blocks. Every connection of a name shares its cache. Control plane: create, open (a client
 * connecting) and close (the export stopping, after the engine drained it).
 */
final class CacheInstance implements FilterInstance {
    private static final Logger LOG = LoggerFactory.getLogger(CacheInstance.class);
    /** How the cache's own handles on the layer below name themselves in logs. */
    private static final String OWNER = "cache";

    private final CacheOptions options;
    private final ExportContext export;
    private final Layer next;
    private final Map<String, BlockCache> caches = new LinkedHashMap<>();  // guarded by this

    private CacheInstance(CacheOptions options, ExportContext export, Layer next) {
        this.options = options;
        this.export = export;
        this.next = next;
    }

    static CacheInstance create(CacheOptions options, ExportContext export, Layer next) throws ConfigException {
        CacheInstance instance = new CacheInstance(options, export, next);
        try {
            if (!instance.namesBelow()) {
                instance.cacheFor("");
            }
        } catch (IOException e) {
            instance.close();
            throw new ConfigException(e.getMessage(), e);
        }
        return instance;
    }

    private boolean namesBelow() throws IOException {
        return !next.listExports(export.readOnly()).isEmpty();
    }

    /** The layer below's meta contexts (they pass through the cache unchanged), and qemu:allocation-depth. */
    @Override
    public List<String> metaContexts() {
        List<String> all = new ArrayList<>(next.metaContexts());
        all.remove(Extents.QEMU_ALLOCATION_DEPTH);                 // answered here, for this layer
        all.add(Extents.QEMU_ALLOCATION_DEPTH);
        return all;
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        String key = "";
        if (namesBelow()) {
            key = client.exportName().isEmpty() ? next.defaultExport() : client.exportName();
        }
        return new CacheHandle(cacheFor(key), client.readOnly());
    }

    private synchronized BlockCache cacheFor(String name) throws IOException {
        BlockCache cache = caches.get(name);
        if (cache == null) {
            // the engine closes this handle after the instance closes, so close() can still write back through it
            Handle below = next.open(new ClientContext(name, export.readOnly(), OWNER, 0));
            cache = BlockCache.open(options, new Lower(below), name);
            caches.put(name, cache);
        }
        return cache;
    }

    /** Hits and misses of client reads, cached and dirty bytes, over every cache of the export. Any thread. */
    @Override
    public void metrics(MetricSink sink) {
        List<BlockCache> all;
        synchronized (this) {
            all = List.copyOf(caches.values());
        }
        long hits = 0;
        long misses = 0;
        long dirty = 0;
        long cached = 0;
        for (BlockCache c : all) {
            hits += c.hitBytes();
            misses += c.missBytes();
            dirty += c.dirtyBlocks() * c.g.blockSize();
            cached += c.cachedBytes();
        }
        sink.counter("read_hit_bytes_total", "Bytes of client reads served from the cache", hits);
        sink.counter("read_miss_bytes_total", "Bytes of client reads that went to the layer below", misses);
        sink.gauge("dirty_bytes", "Bytes in the cache the layer below has not seen yet (written, zeroed or trimmed)", dirty);
        sink.gauge("cached_bytes", "Bytes of blocks held in the cache file", cached);
    }

    /**
     * Before a hot swap or rewire takes the export apart: every dirty block goes to the layer below
     * now, before that layer is asked for its own state to hand over (the engine asks the outermost
     * layer first), so nothing the cache held is missing from what the plugin passes on. The cache
     * itself is not handed over: its successor starts empty. Failures are logged, and
     * {@link #close()} tries again.
     */
    @Override
    public synchronized Object handOver() {
        for (BlockCache cache : caches.values()) {
            try {
                cache.writeBackAndFlush();
            } catch (IOException | RuntimeException e) {
                LOG.warn("cache: writing back before the hand-over failed, trying again at close: {}", e.getMessage());
            }
        }
        return null;
    }

    /** Writes back every cache's dirty blocks (in every mode), then drops the cache files. */
    @Override
    public synchronized void close() {
        List<BlockCache> all = new ArrayList<>(caches.values());
        caches.clear();
        for (BlockCache cache : all) {
            try {
                cache.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("cache: closing failed", e);                 // BlockCache.close logged what was lost
            }
        }
    }
}
