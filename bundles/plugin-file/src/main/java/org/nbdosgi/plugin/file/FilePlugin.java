package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Parameter;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.common.libc.LibC;
import org.osgi.service.component.annotations.Component;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code file [file=]PATH | dir=DIR [cache=default|none] [fadvise=normal|random|sequential]}: serves
 * a file or block device, or every such file in a directory, with holes, trim and zero mapped to
 * the file system's own (fallocate, SEEK_DATA/SEEK_HOLE through JNA). Control plane.
 */
@Component(service = Plugin.class, property = Plugin.NAME_PROPERTY + "=file")
public final class FilePlugin implements Plugin {
    private static final Logger LOG = LoggerFactory.getLogger(FilePlugin.class);

    @Override
    public String name() {
        return "file";
    }

    @Override
    public String description() {
        return "a file or block device, or every file in a directory";
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(
                Parameter.of("file", "the file or block device to serve"),
                Parameter.of("dir", "serve every regular file and block device in this directory, chosen by export name"),
                Parameter.of("cache", "default|none: none keeps the data out of the page cache (O_DIRECT where possible)"),
                Parameter.of("fadvise", "normal|random|sequential: the access pattern hinted to the kernel (read-ahead)"));
    }

    @Override
    public String magicParameter() {
        return "file";
    }

    @Override
    public String help() {
        return """
                Exactly one of file= or dir= is required.
                Examples:
                  nbd-osgi file disk.img
                  nbd-osgi file /dev/sdb cache=none
                  nbd-osgi file dir=/var/lib/images        (clients pick a file by export name)""";
    }

    @Override
    public PluginInstance create(Config config, ExportContext export) throws ConfigException {
        String file = config.get("file", "");
        String dir = config.get("dir", "");
        if (file.isEmpty() == dir.isEmpty()) {
            throw new ConfigException(file.isEmpty() ? "give file=PATH or dir=DIRECTORY"
                    : "give file= or dir=, not both");
        }
        FileOptions options = new FileOptions(config.choice("cache", FileOptions.Cache.class, FileOptions.Cache.DEFAULT),
                config.choice("fadvise", FileOptions.Advice.class, FileOptions.Advice.NORMAL));
        try {
            if (!LibC.supported()) {
                throw new ConfigException("needs Linux on x86-64 or aarch64");
            }
            return file.isEmpty() ? directory(path("dir", dir), options, export.readOnly())
                    : singleFile(path("file", file), options, export.readOnly());
        } catch (LinkageError e) {
            throw new ConfigException("cannot reach the C library through JNA: " + e, e);
        }
    }

    private static Path path(String key, String value) throws ConfigException {
        try {
            return Path.of(value).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new ConfigException(key + ": '" + value + "' is not a valid path");
        }
    }

    /** Opens the file once now, so a missing or unreadable file stops the export from starting. */
    private static PluginInstance singleFile(Path path, FileOptions options, boolean readOnly) throws ConfigException {
        SingleFileInstance instance = new SingleFileInstance(path, options, readOnly);
        try (Handle probe = instance.open(new ClientContext("", readOnly, "startup check", 0))) {
            if (!readOnly && !probe.canWrite()) {
                LOG.info("{}: not writable, serving it read-only", path);
            }
        } catch (IOException e) {
            throw new ConfigException(e.getMessage(), e);
        }
        return instance;
    }

    private static PluginInstance directory(Path dir, FileOptions options, boolean readOnly) throws ConfigException {
        if (!Files.isDirectory(dir)) {
            throw new ConfigException(dir + (Files.exists(dir) ? ": is not a directory" : ": no such directory"));
        }
        DirectoryInstance instance = new DirectoryInstance(dir, options, readOnly);
        try {
            instance.listExports(readOnly);
        } catch (IOException e) {
            throw new ConfigException(FileTarget.problem(dir, e).getMessage(), e);
        }
        return instance;
    }
}
