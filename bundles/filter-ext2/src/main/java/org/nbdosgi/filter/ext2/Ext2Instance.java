package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.util.List;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.FilterInstance;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * The filter for one export: the export's one {@link Filesystem}, and either the one file it serves
 * ({@code ext2file=PATH}, opened at export start) or none, each client naming its file by the
 * export name it asks for ({@code ext2file=exportname}). Control plane.
 */
final class Ext2Instance implements FilterInstance {
    /** The export name the layer below is opened with: its default export, as the filesystem's home. */
    static final String LOWER_EXPORT = "";

    private final Filesystem fs;
    private final Layer next;
    private final String fixedPath;
    private final InnerFile fixed;

    /**
     * @param fixedPath the file every client gets, or null when clients choose by export name
     * @param fixed     that file, opened
     */
    Ext2Instance(Filesystem fs, Layer next, String fixedPath, InnerFile fixed) {
        this.fs = fs;
        this.next = next;
        this.fixedPath = fixedPath;
        this.fixed = fixed;
    }

    /**
     * Resolves the client's file (a bad export name is refused for this client only) and opens the
     * connection's own handle on the layer below, for the file's data.
     */
    @Override
    public Handle open(ClientContext client) throws IOException {
        String path = fixed != null ? fixedPath : pathOf(client.exportName());
        InnerFile file = fixed != null ? share(fixed) : fs.openFile(path);
        try {
            return new Ext2Handle(fs, file, path, next.open(client.withExportName(LOWER_EXPORT)));
        } catch (IOException | RuntimeException e) {
            fs.release(file);
            throw e;
        }
    }

    private InnerFile share(InnerFile file) throws IOException {
        fs.locked(() -> {
            file.retain();
            return null;
        });
        return file;
    }

    /** The file a client's export name chooses; as nbdkit does, a name without a leading / gets one. */
    private static String pathOf(String exportName) throws NbdException {
        try {
            return InnerPath.check(exportName.isEmpty() || exportName.startsWith("/") ? exportName : "/" + exportName);
        } catch (IllegalArgumentException e) {
            throw new NbdException(NbdError.EINVAL, "ext2: export name: " + e.getMessage());
        }
    }

    /** With {@code ext2file=exportname} nothing is listed (any file may be asked for), as nbdkit does. */
    @Override
    public List<ExportEntry> listExports(boolean readOnly) {
        return fixed == null ? List.of() : null;
    }

    /** None of the layer below's: they describe the image, not the file inside it. */
    @Override
    public List<String> metaContexts() {
        return List.of();
    }

    @Override
    public void close() throws IOException {
        try {
            if (fixed != null) {
                fs.release(fixed);
            }
        } finally {
            fs.close();
        }
    }
}
