package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Filter;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.osgi.service.component.annotations.Component;

/**
 * {@code --filter=ext2 ext2file=PATH|exportname}: serves a file that lives inside the ext2, ext3 or
 * ext4 filesystem held by the layer below, through libext2fs. Control plane: opens the export's one
 * filesystem handle (read-only under {@code -r}) and, for a fixed path, the file, so every problem
 * shows at export start.
 */
@Component(service = Filter.class, property = Plugin.NAME_PROPERTY + "=ext2")
public final class Ext2Filter implements Filter {
    static final String EXPORTNAME = "exportname";

    @Override
    public String name() {
        return "ext2";
    }

    @Override
    public String description() {
        return "serve a file inside an ext2/ext3/ext4 filesystem";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Parameter.required("ext2file",
                "absolute path of the file inside the filesystem, or 'exportname' to let each client's export name choose"));
    }

    @Override
    public String help() {
        return "Examples:\n"
                + "  nbd-osgi --filter=ext2 file fs.img ext2file=/disks/disk.raw\n"
                + "  nbd-osgi --filter=ext2 file fs.img ext2file=exportname    (nbdinfo nbd+unix:////disks/disk.raw?socket=...)";
    }

    @Override
    public FilterInstance create(Config config, ExportContext export, Layer next) throws ConfigException {
        String target = config.require("ext2file");
        String path = null;
        if (!target.equals(EXPORTNAME)) {
            try {
                path = InnerPath.check(target);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("ext2file: " + e.getMessage());
            }
        }
        try {
            LibExt2fs.load();
        } catch (LinkageError e) {
            throw new ConfigException("cannot load libext2fs (libext2fs.so.2, Debian package libext2fs2): " + e.getMessage(), e);
        }
        Filesystem fs = openFilesystem(export, next);
        try {
            return new Ext2Instance(fs, next, path, path == null ? null : fs.openFile(path));
        } catch (IOException e) {
            closeQuietly(fs, e);
            throw new ConfigException("ext2file: " + e.getMessage(), e);
        }
    }

    /** The filesystem on the export's shared handle below (connection 0, closed by the engine after the instance). */
    private static Filesystem openFilesystem(ExportContext export, Layer next) throws ConfigException {
        Handle lower;
        try {
            lower = next.open(new ClientContext(Ext2Instance.LOWER_EXPORT, export.readOnly(), "ext2", 0));
        } catch (IOException e) {
            throw new ConfigException("cannot open the layer below: " + e.getMessage(), e);
        }
        try {
            return Filesystem.open(lower, !export.readOnly() && lower.canWrite());
        } catch (IOException e) {
            throw new ConfigException(e.getMessage(), e);
        }
    }

    private static void closeQuietly(Filesystem fs, Exception cause) {
        try {
            fs.close();
        } catch (IOException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }
}
