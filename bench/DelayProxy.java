import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * A TCP proxy on loopback that holds every chunk a client sends for a fixed delay before passing
 * it on (in order), so each request to the server behind it arrives that much later; replies
 * pass straight back. Both servers of a benchmark talk to the object store through it, so each
 * remote request costs them the same added latency, however many are in flight.
 *
 * <p>Run with the JDK's source launcher: {@code java bench/DelayProxy.java LISTEN_PORT TARGET_PORT DELAY_MS}.
 * One virtual thread per direction per connection; stops when killed.
 */
public final class DelayProxy {
    private record Chunk(long due, byte[] bytes) {
    }

    public static void main(String[] args) throws IOException {
        int listen = Integer.parseInt(args[0]);
        int target = Integer.parseInt(args[1]);
        long delayNanos = (long) (Double.parseDouble(args[2]) * 1_000_000);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(listen, 1024, loopback)) {
            while (true) {
                Socket client = server.accept();
                Thread.ofVirtual().start(() -> serve(client, new InetSocketAddress(loopback, target), delayNanos));
            }
        }
    }

    private static void serve(Socket client, InetSocketAddress target, long delayNanos) {
        try (client; Socket upstream = new Socket()) {
            upstream.connect(target);
            client.setTcpNoDelay(true);
            upstream.setTcpNoDelay(true);
            LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
            Thread replies = Thread.ofVirtual().start(() -> copy(upstream, client));
            Thread delayed = Thread.ofVirtual().start(() -> drain(queue, upstream));
            InputStream in = client.getInputStream();
            byte[] buf = new byte[256 * 1024];
            for (int n; (n = in.read(buf)) > 0; ) {
                queue.put(new Chunk(System.nanoTime() + delayNanos, Arrays.copyOf(buf, n)));
            }
            queue.put(new Chunk(0, null));
            delayed.join();
            upstream.shutdownOutput();
            replies.join();
        } catch (IOException | InterruptedException e) {
            // the connection is over
        }
    }

    private static void drain(LinkedBlockingQueue<Chunk> queue, Socket upstream) {
        try {
            OutputStream out = upstream.getOutputStream();
            for (Chunk c; (c = queue.take()).bytes() != null; ) {
                long wait = c.due() - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
                out.write(c.bytes());
            }
        } catch (IOException | InterruptedException e) {
            // the connection is over
        }
    }

    private static void copy(Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
        } catch (IOException e) {
            // the connection is over
        }
    }
}
