package org.nbdosgi.plugin.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.common.libc.LibC;

/** A file's pages lent as mapped views: the file's bytes, only while the file holds them, and on a disk only what the cache holds. */
class MappedReadsTest {
    private static final int WINDOW_SHIFT = 16;                  // 64 KiB windows, so a small file spans several

    @TempDir
    Path dir;

    @Test
    void viewsHoldTheFilesBytesAcrossWindows() throws Exception {
        byte[] data = randomFile(256 << 10);
        try (FileChannel channel = FileChannel.open(dir.resolve("f.img"), StandardOpenOption.READ)) {
            MappedReads mapped = new MappedReads(channel, data.length, false, WINDOW_SHIFT);
            ByteBuffer[] views = mapped.lend(60 << 10, 136 << 10);    // from the first window into the fourth
            assertNotNull(views, "just written: in the page cache");
            assertEquals(4, views.length, "one view per window touched");
            assertArrayEquals(Arrays.copyOfRange(data, 60 << 10, 196 << 10), concat(views));
            assertArrayEquals(Arrays.copyOfRange(data, 0, 4096), concat(mapped.lend(0, 4096)));
        }
    }

    @Test
    void aFileThatShrankLendsNothingAndIsNotGrownAgain() throws Exception {
        byte[] data = randomFile(256 << 10);
        Path f = dir.resolve("f.img");
        try (FileChannel channel = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedReads mapped = new MappedReads(channel, data.length, true, WINDOW_SHIFT);
            assertNotNull(mapped.lend(0, 64 << 10));
            channel.truncate(100 << 10);
            assertNull(mapped.lend(192 << 10, 64 << 10), "past the new end: the read reports it");
            assertNull(mapped.lend(64 << 10, 64 << 10), "its window would reach past the new end");
            assertEquals(100 << 10, Files.size(f), "mapping did not grow the file back");
            assertArrayEquals(Arrays.copyOfRange(data, 64 << 10, 96 << 10), concat(mapped.lend(64 << 10, 32 << 10)),
                    "what the file still holds is lent");
        }
    }

    @Test
    void onADiskOnlyPagesInTheCacheAreLent() throws Exception {
        byte[] data = randomFile(1 << 20);
        Path f = dir.resolve("f.img");
        assumeFalse(FileTarget.inspect(f).inMemory(), "the temporary directory is on tmpfs: every page is in memory there");
        try (FileChannel channel = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
             NativeFd fd = NativeFd.open(f, true, false)) {
            channel.force(true);
            assertEquals(0, fd.advise(0, 0, LibC.POSIX_FADV_DONTNEED));
            MappedReads mapped = new MappedReads(channel, data.length, false, WINDOW_SHIFT);
            assertNull(mapped.lend(128 << 10, 64 << 10), "dropped from the cache: sending it would wait for the disk");
            channel.read(ByteBuffer.allocate(64 << 10), 128 << 10);
            assertArrayEquals(Arrays.copyOfRange(data, 128 << 10, 192 << 10), concat(mapped.lend(128 << 10, 64 << 10)),
                    "read once: cached, so lent");
        }
    }

    private byte[] randomFile(int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Files.write(dir.resolve("f.img"), data);
        return data;
    }

    private static byte[] concat(ByteBuffer[] views) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuffer v : views) {
            byte[] b = new byte[v.remaining()];
            v.duplicate().get(b);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }
}
