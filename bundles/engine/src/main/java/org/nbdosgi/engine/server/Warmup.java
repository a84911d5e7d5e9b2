package org.nbdosgi.engine.server;

import java.net.URL;
import java.util.Enumeration;
import java.util.List;

import org.nbdosgi.engine.transport.SocketTransport;
import org.osgi.framework.Bundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the first client would otherwise wait for, done on a thread of its own as the engine starts
 * (control plane, once; it ends when done): the sockets' native calls made ready
 * ({@link SocketTransport#prepare}), then the classes of a connection's path loaded from the
 * bundle. The JVM's AOT cache holds the framework's classes and the JDK's, not a bundle's, so each
 * of these is otherwise read, parsed and defined when a connection first needs it. Together they
 * were most of a fresh server's first handshake (28 to 6 ms) and first request (20 to 3 ms; see
 * bench/first-requests.sh). Those classes are loaded, not initialized: no other static initializer
 * runs early (the JNA fallback of Java 21 stays unloaded until a Unix socket client needs it). A
 * client that connects meanwhile waits at most for the class it needs next, as it would anyway.
 */
final class Warmup {
    private static final Logger LOG = LoggerFactory.getLogger(Warmup.class);
    /** The packages a connection's handshake and requests go through. */
    private static final List<String> CONNECTION_PATH = List.of("org/nbdosgi/engine/transport", "org/nbdosgi/engine/protocol",
            "org/nbdosgi/engine/server", "org/nbdosgi/engine/export", "org/nbdosgi/engine/chain", "org/nbdosgi/common/buffers");

    private Warmup() {
    }

    static void start(Bundle engine) {
        Thread.ofPlatform().daemon().name("nbd-warmup").start(() -> run(engine));
    }

    private static void run(Bundle engine) {
        SocketTransport.prepare();
        ClassLoader loader = Warmup.class.getClassLoader();
        int loaded = 0;
        try {
            for (String pkg : CONNECTION_PATH) {
                Enumeration<URL> entries = engine.findEntries(pkg, "*.class", false);
                while (entries != null && entries.hasMoreElements()) {
                    String path = entries.nextElement().getPath();
                    Class.forName(path.substring(1, path.length() - ".class".length()).replace('/', '.'), false, loader);
                    loaded++;
                }
            }
        } catch (ClassNotFoundException | LinkageError | IllegalStateException e) {
            LOG.debug("warm-up stopped after {} classes: {}", loaded, e.toString());  // the bundle stopped meanwhile
            return;
        }
        LOG.debug("warm-up: socket calls ready, {} classes loaded", loaded);
    }
}
