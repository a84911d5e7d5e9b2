package org.nbdosgi.filter.blocksize;

import java.util.List;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Component;

/**
 * {@code --filter=blocksize}: lets any client use a layer with alignment or size limits by
 * aligning and splitting its requests. Control plane; the lock that keeps read-modify-writes whole
 * is the export's, shared by its connections.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=blocksize")
public final class BlocksizeFilter implements Filter {

    @Override
    public String name() {
        return "blocksize";
    }

    @Override
    public String description() {
        return "aligns and splits requests for layers with block size limits";
    }

    @Override
    public List<Parameter> parameters() {
        return Limits.parameters();
    }

    @Override
    public String help() {
        return """
                Examples:
                  nbd-osgi --filter=blocksize vddk minblock=512 file=/abs/disk.vmdk
                  nbd-osgi --filter=blocksize nbd maxdata=2M socket=/run/upstream.sock""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        Limits limits = Limits.from(config);
        ReadWriteLock lock = new ReentrantReadWriteLock();
        return client -> new BlocksizeHandle(next.open(client), limits, lock);
    }
}
