package org.nbdosgi.filter.stats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import org.nbdosgi.api.ConfigException;

/**
 * The {@code statsfile}: opened when the export starts, so a path that cannot be written is an
 * error then, not a lost report later; written once when the export stops. A regular file is
 * replaced, unless {@code statsappend=true}; a path under {@code /dev} or {@code /proc} (such as
 * {@code /dev/stderr}, often a log file) is never truncated and always written at its end.
 * Control plane.
 */
final class StatsFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;

    private StatsFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    static StatsFile open(String name, boolean append) throws ConfigException {
        Path path = Path.of(name).toAbsolutePath();
        boolean stream = path.startsWith("/dev") || path.startsWith("/proc");
        try {
            FileChannel channel = append || stream
                    ? FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)
                    : FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            return new StatsFile(path, channel);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException("statsfile: cannot open " + path + ": " + reason(e));
        }
    }

    Path path() {
        return path;
    }

    void write(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
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
