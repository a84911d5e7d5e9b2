package org.nbdosgi.plugin.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.common.libc.LibC;

/** Reads of cached pages stay on the caller's thread; reads that must wait for the disk go to a disk-read thread. */
class CacheFirstReadsTest {
    @TempDir
    Path dir;

    /** The inner I/O, recording the threads it runs on. */
    private record Recording(Io inner, List<String> threads) implements Io {
        @Override
        public void read(ByteBuffer buf, long offset) throws IOException {
            threads.add(Thread.currentThread().getName());
            inner.read(buf, offset);
        }

        @Override
        public void write(ByteBuffer buf, long offset) throws IOException {
            threads.add(Thread.currentThread().getName());
            inner.write(buf, offset);
        }
    }

    @Test
    void cachedPagesAreReadInPlaceAndTheRestOnADiskReadThread() throws Exception {
        Path f = dir.resolve("disk.img");
        byte[] data = new byte[4 << 20];
        new Random(5).nextBytes(data);
        Files.write(f, data);
        assumeFalse(FileTarget.inspect(f).inMemory(), "the temporary directory is on tmpfs: nothing waits for a disk there");
        List<String> threads = new CopyOnWriteArrayList<>();
        try (FileChannel channel = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
             NativeFd fd = NativeFd.open(f, true, false);
             DiskReads diskReads = new DiskReads()) {
            Fallbacks fallbacks = new Fallbacks(f.toString());
            Io io = new CacheFirstReads(fd, new Recording(new ChannelIo(channel, f), threads), fallbacks, diskReads);
            channel.force(true);

            ByteBuffer buf = ByteBuffer.allocateDirect(64 << 10);
            onVirtualThread(() -> io.read(buf, 1 << 20));       // just written: in the page cache
            assertEquals(List.of(), threads, "a cached read needs no other thread");
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 1 << 20, (1 << 20) + (64 << 10)), bytes(buf));

            assertEquals(0, fd.advise(0, 0, LibC.POSIX_FADV_DONTNEED));
            buf.clear();
            onVirtualThread(() -> io.read(buf, 2 << 20));       // dropped: must come from the disk
            assertEquals(1, threads.size(), "one read waits for the disk: " + threads);
            assertEquals(true, threads.get(0).startsWith("nbd-file-read-"), threads.toString());
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 2 << 20, (2 << 20) + (64 << 10)), bytes(buf));
            assertEquals(true, fallbacks.cachedReads(), "RWF_NOWAIT works on this file system");

            assertEquals(0, fd.advise(0, 0, LibC.POSIX_FADV_DONTNEED));
            buf.clear();
            threads.clear();
            io.read(buf, 3 << 20);                               // a platform thread (the engine's worker) waits itself
            assertEquals(List.of(Thread.currentThread().getName()), threads, "read in place, no hand-over");
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 3 << 20, (3 << 20) + (64 << 10)), bytes(buf));
        }
    }

    private interface IoStep {
        void run() throws IOException;
    }

    /** Runs {@code step} on a virtual thread, as the engine runs requests of chains that do not block in the kernel. */
    private static void onVirtualThread(IoStep step) throws Exception {
        IOException[] failed = new IOException[1];
        Thread.ofVirtual().start(() -> {
            try {
                step.run();
            } catch (IOException e) {
                failed[0] = e;
            }
        }).join();
        if (failed[0] != null) {
            throw failed[0];
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
