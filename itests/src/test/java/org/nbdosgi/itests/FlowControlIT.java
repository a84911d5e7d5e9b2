package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * Issue 13 item 5: clients that write requests before they read replies, with buffers much smaller
 * than what the server keeps in flight (the NBD project's test client waits up to a second to be
 * able to write before it reads again; others do a blocking write). The server must keep reading
 * however many replies wait for the client: before, its reader parked on the in-flight budget held
 * by replies the client had not read yet, while the client waited for the server to read.
 */
public class FlowControlIT {
    private static final int REQUESTS = 20_000;

    /**
     * Sends {@link #REQUESTS} 4 KiB reads over a socket with 16 KiB buffers and only then reads the
     * replies, as a single-threaded client does; returns how long that took. Each part fails after
     * a minute: a stall is for ever here (the client's writes wait for the server to read, the
     * server's replies for the client to read).
     */
    private static long writeAllThenRead(int port) throws Exception {
        try (NbdClient c = NbdClient.tcp("127.0.0.1", port, 16 << 10)) {
            c.go("");
            long t0 = System.nanoTime();
            Set<Long> sent = new HashSet<>();
            CompletableFuture<Void> writes = new CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    for (int i = 0; i < REQUESTS; i++) {
                        sent.add(c.send(NbdClient.CMD_READ, 0, (long) (i % 2048) * 4096, 4096, null));
                    }
                    writes.complete(null);
                } catch (Exception e) {
                    writes.completeExceptionally(e);
                }
            });
            writes.get(60, TimeUnit.SECONDS);
            CompletableFuture<Set<Long>> replies = new CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    Set<Long> cookies = new HashSet<>();
                    for (int i = 0; i < REQUESTS; i++) {
                        NbdClient.Reply r = c.receive(4096, 0);
                        assertEquals(0, r.error);
                        cookies.add(r.cookie);
                    }
                    replies.complete(cookies);
                } catch (Throwable e) {
                    replies.completeExceptionally(e);
                }
            });
            assertEquals(sent, replies.get(60, TimeUnit.SECONDS));
            return (System.nanoTime() - t0) / 1_000_000;
        }
    }

    @Test
    public void aClientThatWritesAllItsReadsBeforeReadingAnyReplyIsServed() throws Exception {
        Path dir = Distribution.workDir("FlowControlIT/memory");
        try (ServerProcess s = ServerProcess.tcp(dir, "memory", "64M")) {
            System.out.println("FlowControlIT: memory plugin, " + REQUESTS + " reads written before any reply read: "
                    + writeAllThenRead(s.port()) + " ms");
        }
    }

    @Test
    public void theSameOnAFileWhoseReadsRunOnThreads() throws Exception {
        Path dir = Distribution.workDir("FlowControlIT/file");
        Path img = dir.resolve("disk.img");
        Files.write(img, new byte[8 << 20]);
        try (ServerProcess s = ServerProcess.tcp(dir, "--filter=delay", "file", img.toString(), "rdelay=1us")) {
            System.out.println("FlowControlIT: file plugin under a delay filter: " + writeAllThenRead(s.port()) + " ms");
            assertTrue(s.isAlive());
        }
    }
}
