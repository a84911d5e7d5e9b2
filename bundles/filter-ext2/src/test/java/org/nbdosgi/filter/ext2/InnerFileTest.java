package org.nbdosgi.filter.ext2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.testkit.Ext2Images;

/** Where the filesystem's lock is needed, and where it is not. */
class InnerFileTest {
    @TempDir
    Path dir;

    @Test
    void knownRangesAreServedWhileTheFilesystemIsBusy() throws Exception {
        Path image = Ext2Images.make(dir, "ext4", Ext2Images.source(dir, 1), "64M");
        try (ImageLayer layer = new ImageLayer(image, true); ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            LibExt2fs.load();
            Filesystem fs = Filesystem.open(layer.open(new ClientContext("", false, "test", 0)), true);
            InnerFile file = fs.openFile("/disk.raw");
            assertTrue(file.knownRuns() > 0, "an extent tree is learnt whole when the file opens");

            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Object> busy = CompletableFuture.supplyAsync(() -> {
                try {
                    return fs.locked(() -> {
                        held.countDown();
                        try {
                            return release.await(60, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            throw new java.io.InterruptedIOException();
                        }
                    });
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads);
            assertTrue(held.await(10, TimeUnit.SECONDS));
            try {
                CompletableFuture<List<Run>> reads = CompletableFuture.supplyAsync(() -> call(() -> file.locate(0, 32L << 20)), threads);
                CompletableFuture<List<Run>> writes = CompletableFuture.supplyAsync(() -> call(() -> file.locateForWrite(1 << 20, 1 << 20)), threads);
                CompletableFuture<List<Run>> status = CompletableFuture.supplyAsync(() -> call(() -> file.describe(0, 32L << 20, 1024)), threads);
                assertEquals(32L << 20, reads.get(5, TimeUnit.SECONDS).stream().mapToLong(Run::length).sum());
                assertEquals(List.of(Run.Kind.DATA), writes.get(5, TimeUnit.SECONDS).stream().map(Run::kind).distinct().toList());
                assertTrue(status.get(5, TimeUnit.SECONDS).size() > 1);
            } finally {
                release.countDown();
                busy.get();
            }
            fs.release(file);
            fs.close();
        }
    }

    @Test
    void indirectBlockMapsAreLearntAsTheyAreUsed() throws Exception {
        Path image = Ext2Images.make(dir, "ext3", Ext2Images.source(dir, 2), "64M");
        try (ImageLayer layer = new ImageLayer(image, false)) {
            LibExt2fs.load();
            Filesystem fs = Filesystem.open(layer.open(new ClientContext("", true, "test", 0)), false);
            InnerFile file = fs.openFile("/disk.raw");
            assertEquals(0, file.knownRuns());
            List<Run> first = file.locate(0, 2 << 20);
            assertTrue(file.knownRuns() > 0);
            assertEquals(first, file.locate(0, 2 << 20));
            fs.release(file);
            fs.close();
        }
    }

    private interface IoCall<T> {
        T call() throws Exception;
    }

    private static <T> T call(IoCall<T> c) {
        try {
            return c.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
