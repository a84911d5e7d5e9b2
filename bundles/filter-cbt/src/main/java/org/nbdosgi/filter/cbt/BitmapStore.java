package org.nbdosgi.filter.cbt;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an export's bitmaps are kept between runs: one file {@code NAME.bitmap} per bitmap in one
 * directory. A bitmap in use is flagged so on disk the moment it is loaded or created; saving it
 * when the export stops (or hands over) clears the flag. So a bitmap found still flagged was not
 * saved after its last writes: the server crashed or was killed, and it comes back inconsistent.
 * Every write goes to a temporary file, forced to disk and renamed over the old one. Control plane.
 */
final class BitmapStore {
    private static final Logger LOG = LoggerFactory.getLogger(BitmapStore.class);
    private static final String SUFFIX = ".bitmap";

    private final Path dir;

    BitmapStore(Path dir) {
        this.dir = dir;
    }

    Path dir() {
        return dir;
    }

    /** Every bitmap kept here, by name; one that cannot be read is left alone and logged. */
    Map<String, DirtyBitmap> load() throws IOException {
        Map<String, DirtyBitmap> out = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).sorted().toList()) {
                String file = f.getFileName().toString();
                String name = file.substring(0, file.length() - SUFFIX.length());
                try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(f))) {
                    DirtyBitmap b = DirtyBitmap.read(name, in);
                    if (!b.consistent()) {
                        LOG.warn("cbt: bitmap '{}' in {} is inconsistent (the server stopped without saving it, or the filter "
                                + "was removed while the export ran): it reports every block dirty until it is cleared", name, dir);
                    }
                    out.put(name, b);
                } catch (IOException | RuntimeException e) {
                    LOG.error("cbt: cannot read bitmap '{}' ({}): {}", name, f, e.toString());
                }
            }
        }
        return out;
    }

    /** Writes the bitmap; {@code inUse}: flagged as in use by a running export. */
    void save(DirtyBitmap b, boolean inUse) throws IOException {
        Files.createDirectories(dir);
        Path file = fileOf(b.name());
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream out = new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            b.write(out, inUse);
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory();
    }

    /** Flags a saved bitmap as in use, in place (its blocks are about to change in memory only). */
    void markInUse(DirtyBitmap b) throws IOException {
        Path file = fileOf(b.name());
        if (!Files.exists(file)) {
            save(b, true);
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer flags = ByteBuffer.allocate(4);
            ch.read(flags, DirtyBitmap.FLAGS_OFFSET);
            int now = flags.flip().getInt() | DirtyBitmap.IN_USE;
            ch.write(ByteBuffer.allocate(4).putInt(now).flip(), DirtyBitmap.FLAGS_OFFSET);
            ch.force(true);
        }
    }

    void delete(String name) throws IOException {
        Files.deleteIfExists(fileOf(name));
        syncDirectory();
    }

    private Path fileOf(String name) {
        return dir.resolve(name + SUFFIX);
    }

    /** A rename or delete is durable once the directory is forced too. */
    private void syncDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            LOG.debug("cbt: cannot sync directory {}: {}", dir, e.toString());
        }
    }
}
