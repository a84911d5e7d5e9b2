package org.nbdosgi.filter.cbt;

import java.nio.file.Path;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * {@code --filter=cbt}: changed-block tracking. Named dirty bitmaps per export (created, cleared and
 * removed with {@code nbd:bitmap-add}, {@code nbd:bitmap-clear}, {@code nbd:bitmap-remove}) mark
 * every block a write, zero or trim touches; clients read them as {@code qemu:dirty-bitmap:NAME}
 * for incremental backups. Control plane.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=cbt")
public final class CbtFilter implements Filter {
    private final LiveBitmaps live;

    @Activate
    public CbtFilter(@Reference LiveBitmaps live) {
        this.live = live;
    }

    @Override
    public String name() {
        return "cbt";
    }

    @Override
    public String description() {
        return "changed-block tracking: dirty bitmaps read as qemu:dirty-bitmap:NAME";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.of("cbt-dir", "directory where the bitmaps are kept between runs (default: the export's "
                + "state directory in container mode; none on the command line: memory only)"));
    }

    @Override
    public String help() {
        return """
                Bitmaps are managed from the console:
                  nbd:bitmap-add EXPORT NAME [GRANULARITY]   nbd:bitmap-clear EXPORT NAME   nbd:bitmap-remove EXPORT NAME
                Examples:
                  nbd-osgi --filter=cbt file disk.img cbt-dir=/var/lib/nbd-osgi/disk-bitmaps
                  nbdinfo --map=qemu:dirty-bitmap:NAME nbd://localhost""";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        Path dir = config.has("cbt-dir") ? Path.of(config.require("cbt-dir"))
                : export.stateDirectory().map(d -> d.resolve("cbt")).orElse(null);
        if (dir != null && !dir.isAbsolute()) {
            throw new ConfigException("cbt-dir: must be an absolute path, not '" + dir + "'");
        }
        BitmapStore store = dir == null ? null : new BitmapStore(dir);
        CbtInstance instance = new CbtInstance(export.exportName(), next, store, live, export.inheritedState().orElse(null));
        live.add(instance);
        return instance;
    }
}
