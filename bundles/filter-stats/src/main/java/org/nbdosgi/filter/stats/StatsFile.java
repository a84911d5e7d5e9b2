package org.nbdosgi.filter.stats;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import org.nbdosgi.api.ConfigException;

/**
 * The {@code statsfile}: opened when the export starts, so a path that cannot be written is an
 * error then, not a lost report later; written once when the export stops. A file is replaced,
 * unless {@code statsappend=true}. {@code /dev/stdout} and {@code /dev/stderr} are the server's own
 * streams, written through its descriptors: reopening them would write over a log file they are
 * redirected to. Any other path under {@code /dev} or {@code /proc} is never truncated. Control plane.
 */
final class StatsFile implements AutoCloseable {
    private static final Map<String, FileDescriptor> STANDARD_STREAMS = Map.of(
            "/dev/stdout", FileDescriptor.out, "/dev/fd/1", FileDescriptor.out, "/proc/self/fd/1", FileDescriptor.out,
            "/dev/stderr", FileDescriptor.err, "/dev/fd/2", FileDescriptor.err, "/proc/self/fd/2", FileDescriptor.err);

    private final OutputStream out;
    private final boolean owned;

    private StatsFile(OutputStream out, boolean owned) {
        this.out = out;
        this.owned = owned;
    }

    static StatsFile open(String name, boolean append) throws ConfigException {
        Path path = Path.of(name).toAbsolutePath().normalize();
        FileDescriptor standard = STANDARD_STREAMS.get(path.toString());
        if (standard != null) {
            return new StatsFile(new FileOutputStream(standard), false);
        }
        boolean device = path.startsWith("/dev") || path.startsWith("/proc");
        try {
            OutputStream out = append || device
                    ? Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)
                    : Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            return new StatsFile(out, true);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("statsfile: cannot open " + path + ": " + reason(e));
        }
    }

    /** Writes the whole report at once (one write, so appending exports do not interleave). */
    void write(String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Closes the file; the server's own stdout and stderr stay open. */
    @Override
    public void close() throws IOException {
        if (owned) {
            out.close();
        }
    }

    private static String reason(Exception e) {
        return switch (e) {
            case java.nio.file.NoSuchFileException x -> "no such directory";
            case java.nio.file.AccessDeniedException x -> "permission denied";
            case java.nio.file.FileSystemException x when x.getReason() != null -> x.getReason();
            default -> e.getMessage() == null ? e.toString() : e.getMessage();
        };
    }
}
