package org.nbdosgi.engine.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading and writing without waiting on a real Unix socket (Java 22 and later; before, both say they cannot). */
class SocketTransportTest {
    @TempDir
    Path dir;
    private SocketChannel client;
    private SocketTransport server;

    @BeforeEach
    void connect() throws IOException {
        Path path = dir.resolve("s.sock");
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(path));
            client = SocketChannel.open(UnixDomainSocketAddress.of(path));
            server = new SocketTransport(listener.accept(), new Peer("unix:1"));
        } finally {
            Files.deleteIfExists(path);
        }
    }

    @AfterEach
    void close() throws IOException {
        client.close();
        server.close();
    }

    @Test
    void beforeJava22NeitherIsOffered() throws IOException {
        assumeTrue(Runtime.version().feature() < 22);
        assertEquals(-1, server.tryRead(ByteBuffer.allocateDirect(16)));
        assertEquals(-1, server.tryWrite(new ByteBuffer[] {ByteBuffer.allocateDirect(16)}, 0, 1));
    }

    @Test
    void aReadWithoutWaitingTakesWhatIsThereAndNothingElse() throws IOException {
        assumeTrue(Runtime.version().feature() >= 22);
        ByteBuffer in = ByteBuffer.allocateDirect(64);
        assertEquals(0, server.tryRead(in), "nothing sent yet: nothing, at once");
        client.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5}));
        int n = 0;
        for (int i = 0; i < 1000 && n < 5; i++) {
            n += server.tryRead(in);
        }
        assertEquals(5, n);
        assertEquals(5, in.position());
        assertEquals(3, in.get(2));
    }

    @Test
    void aWriteWithoutWaitingStopsWhenTheSocketIsFullAndLosesNothing() throws Exception {
        assumeTrue(Runtime.version().feature() >= 22);
        byte[] data = new byte[8 << 20];                    // far more than the socket buffers hold
        new Random(7).nextBytes(data);
        ByteBuffer head = ByteBuffer.allocateDirect(1000).put(data, 0, 1000).flip();
        ByteBuffer body = ByteBuffer.allocateDirect(data.length - 1000).put(data, 1000, data.length - 1000).flip();
        ByteBuffer[] srcs = {head, body};
        long sent = 0;
        long last;
        while ((last = server.tryWrite(srcs, 0, 2)) > 0) {
            sent += last;
        }
        assertEquals(0, last, "full: nothing more now, and no wait");
        assertTrue(sent > 0 && sent < data.length, "sent " + sent);
        assertEquals(sent, head.position() + body.position(), "positions advanced by what was sent");
        ByteBuffer received = ByteBuffer.allocate(data.length);
        Thread rest = Thread.ofPlatform().start(() -> {
            try {
                while (head.hasRemaining() || body.hasRemaining()) {
                    server.write(srcs, 0, 2);
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        while (received.hasRemaining()) {
            client.read(received);
        }
        rest.join();
        assertArrayEquals(data, received.array(), "every byte, in order");
    }

    @Test
    void afterCloseBothFail() throws IOException {
        assumeTrue(Runtime.version().feature() >= 22);
        server.tryRead(ByteBuffer.allocateDirect(8));       // the descriptor is duplicated now
        server.close();
        assertThrows(ClosedChannelException.class, () -> server.tryRead(ByteBuffer.allocateDirect(8)));
        assertThrows(ClosedChannelException.class,
                () -> server.tryWrite(new ByteBuffer[] {ByteBuffer.allocateDirect(8)}, 0, 1));
        assertEquals(-1, client.read(ByteBuffer.allocate(8)), "the client sees the end: no duplicate keeps the socket open");
    }

    @Test
    void preparingTheNativeCallsTouchesNoDescriptorAndTheSocketStillWorks() throws IOException {
        Set<String> before = descriptors();
        SocketTransport.prepare();
        SocketTransport.prepare();
        assertEquals(before, descriptors(), "no descriptor opened, duplicated or closed");
        client.write(ByteBuffer.wrap(new byte[] {9, 8, 7}));
        ByteBuffer in = ByteBuffer.allocateDirect(8);
        while (in.position() < 3) {
            server.read(in);
        }
        assertEquals(7, in.get(2));
        server.write(new ByteBuffer[] {ByteBuffer.wrap(new byte[] {6, 5})}, 0, 1);
        ByteBuffer back = ByteBuffer.allocate(2);
        while (back.hasRemaining()) {
            client.read(back);
        }
        assertEquals(5, back.get(1));
    }

    /** This process's open descriptors, with what each names (Linux), but for the listing's own. */
    private static Set<String> descriptors() throws IOException {
        Path fds = Path.of("/proc/self/fd");
        assumeTrue(Files.isDirectory(fds));
        try (Stream<Path> list = Files.list(fds)) {
            return list.map(fd -> {
                try {
                    return fd.getFileName() + " " + Files.readSymbolicLink(fd);
                } catch (IOException e) {
                    return "gone";                           // closed while listed
                }
            }).filter(fd -> !fd.contains(" /proc/") && !fd.equals("gone")).collect(Collectors.toSet());
        }
    }

    @Test
    void aUnixSocketPollsForLargePayloadsAndTcpDoesNot() throws IOException {
        assertTrue(server.pollsLargePayloads());
        try (ServerSocketChannel tcp = ServerSocketChannel.open()) {
            tcp.bind(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel c = SocketChannel.open(tcp.getLocalAddress()); SocketChannel accepted = tcp.accept()) {
                org.junit.jupiter.api.Assertions.assertFalse(new SocketTransport(accepted, new Peer("127.0.0.1:1")).pollsLargePayloads());
            }
        }
    }
}
