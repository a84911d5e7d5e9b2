package org.nbdosgi.plugin.file;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.PluginInstance;
import org.nbdosgi.common.buffers.BufferPool;

/**
 * {@code dir=DIR}: every regular file and block device directly in DIR (symbolic links followed) is
 * an export of its own, named by its file name and listed by NBD_OPT_LIST. The directory is read
 * anew for every list and every connection, so files added or removed while serving show up.
 * Names that could leave DIR ({@code /}, {@code .}, {@code ..}) and the default name "" are
 * refused. Control plane, except {@link #open}.
 */
final class DirectoryInstance implements PluginInstance {
    private final Path dir;
    private final FileOptions options;
    private final boolean readOnly;
    private final ConcurrentHashMap<String, Fallbacks> fallbacks = new ConcurrentHashMap<>();
    private final BufferPool bounce = UncachedIo.bounceBuffers();
    private final DiskReads diskReads = new DiskReads();

    DirectoryInstance(Path dir, FileOptions options, boolean readOnly) {
        this.dir = dir;
        this.options = options;
        this.readOnly = readOnly;
    }

    @Override
    public List<ExportEntry> listExports(boolean readOnlyList) throws IOException {
        List<ExportEntry> out = new ArrayList<>();
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries.sorted()::iterator) {
                if (servable(p)) {
                    out.add(new ExportEntry(p.getFileName().toString(), null));
                }
            }
        }
        return out;
    }

    private static boolean servable(Path p) {
        try {
            FileTarget.inspect(p);
            return true;
        } catch (NbdException notAFileWeServe) {
            return false;
        }
    }

    @Override
    public Handle open(ClientContext client) throws IOException {
        String name = client.exportName();
        if (name.isEmpty()) {
            throw new NbdException(NbdError.EINVAL, "dir=" + dir + " serves files by name: ask for one of the names"
                    + " the export list shows (nbdinfo --list)");
        }
        if (name.contains("/") || name.contains("\0") || name.equals(".") || name.equals("..")) {
            throw new NbdException(NbdError.EPERM, "export name '" + name + "' is not a file name in " + dir);
        }
        Path path = dir.resolve(name);
        FileTarget target = FileTarget.inspect(path);
        return FileHandle.open(target, options, readOnly || client.readOnly(),
                fallbacks.computeIfAbsent(name, n -> new Fallbacks(path.toString())), bounce, diskReads);
    }

    @Override
    public void close() {
        diskReads.close();
    }
}
