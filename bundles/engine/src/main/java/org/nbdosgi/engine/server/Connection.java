package org.nbdosgi.engine.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.AsynchronousCloseException;
import java.time.Instant;

import org.nbdosgi.api.admin.ConnectionInfo;
import org.nbdosgi.engine.export.Session;
import org.nbdosgi.engine.metrics.RequestMeter;
import org.nbdosgi.engine.protocol.WireIn;
import org.nbdosgi.engine.transport.Deadlines.Deadline;
import org.nbdosgi.engine.transport.Peer;
import org.nbdosgi.engine.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, from the greeting to the end: its own virtual thread runs the
 * {@link Handshake}, then the {@link Transmission} by what was {@link Negotiated}, then closes the
 * session and the transport. Any thread may end it ({@link #shutdown}) or ask about it ({@link #info}).
 *
 * <p>The whole handshake, STARTTLS's TLS handshake included, runs under a deadline
 * ({@code nbd.handshake.timeout}, default 10 s): a client that has not entered transmission by then
 * is disconnected, so idle or trickling connections cannot pile up before the transmission's limits
 * apply.
 */
final class Connection implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);

    private final long id;
    private final Transport transport;
    private final Engine engine;
    private final int maxRequests;
    private final long maxBytes;
    private final Instant since = Instant.now();

    private volatile Handshake handshake;
    private volatile Transmission transmission;
    private volatile String shutdownReason;
    private volatile RequestMeter meter;

    Connection(long id, Transport transport, Engine engine, int maxRequests, long maxBytes) {
        this.id = id;
        this.transport = transport;
        this.engine = engine;
        this.maxRequests = maxRequests;
        this.maxBytes = maxBytes;
    }

    long id() {
        return id;
    }

    /** Why the server ended this connection, or null; requests not yet started fail with ESHUTDOWN. */
    String shutdownReason() {
        return shutdownReason;
    }

    /** The session once the handshake attached the client, else null. */
    Session session() {
        Handshake h = handshake;
        return h == null ? null : h.session();
    }

    /** Where this connection's requests are counted, or null (not counting, or not in transmission yet). */
    RequestMeter meter() {
        return meter;
    }

    /** Requests and payload bytes in flight now. */
    long[] inFlight() {
        Transmission t = transmission;
        return t == null ? new long[2] : new long[] {t.inFlight(), t.bytesInFlight()};
    }

    Transport transport() {
        return transport;
    }

    ConnectionInfo info() {
        Handshake h = handshake;
        Session s = h == null ? null : h.session();
        Transmission t = transmission;
        Peer peer = current().peer();
        return new ConnectionInfo(id, peer.address(), s == null ? null : s.export().name(),
                h == null ? null : h.requestedName(), since, t == null ? 0 : t.inFlight(),
                t == null ? 0 : t.requests(), t == null ? 0 : t.bytesRead(), t == null ? 0 : t.bytesWritten(), peer.client());
    }

    /** The transport the client is on now: the accepted one, or TLS over it after NBD_OPT_STARTTLS. */
    private Transport current() {
        Handshake h = handshake;
        return h == null ? transport : h.transport();
    }

    /**
     * Ends the connection from the server side: requests not yet started fail with ESHUTDOWN,
     * then input stops, which ends the reader. Any thread.
     */
    void shutdown(String why) {
        shutdownReason = why;
        try {
            transport.shutdownInput();
        } catch (IOException e) {
            closeQuietly(transport);
        }
    }

    @Override
    public void run() {
        Handshake h = null;
        WireIn in = new WireIn(transport, engine.pool());
        try {
            h = new Handshake(id, transport, in, engine, this::shutdown);
            handshake = h;
            Negotiated agreed = handshake(h);
            if (agreed != null) {
                Transport client = h.transport();
                LOG.debug("connection {} from {}: attached to export '{}'", id, client.peer().address(),
                        agreed.session().export().name());
                RequestMeter m = engine.counting() ? new RequestMeter() : null;
                if (m != null) {
                    agreed.session().meter(m);
                    agreed.session().export().meter().attach(m);
                    meter = m;
                }
                Transmission t = new Transmission(this, agreed, client, in, engine.pool(), engine.budget(), maxRequests, maxBytes, m);
                transmission = t;
                try {
                    t.run();
                } finally {
                    if (m != null) {
                        agreed.session().export().meter().detach(m);     // after the last reply: exact totals
                    }
                }
            }
        } catch (EOFException | AsynchronousCloseException e) {
            LOG.debug("connection {}: client went away: {}", id, e.getMessage());
        } catch (IOException e) {
            LOG.debug("connection {}: {}", id, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("connection {}: unexpected failure", id, e);
        } finally {
            Session s = h == null ? null : h.session();
            if (s != null) {
                s.close();
            }
            closeQuietly(current());                        // a TLS transport closes the socket below and frees its state
            closeQuietly(transport);
            in.release();                                   // the connection's buffers go back now, not at a GC
            engine.connectionClosed(this);
        }
    }

    /** Runs the handshake under the deadline; null when the client left, was sent away or ran out of time. */
    private Negotiated handshake(Handshake h) throws IOException, InterruptedException {
        Deadline deadline = engine.deadlines().start(transport, engine.handshakeTimeout());
        Negotiated agreed;
        try {
            agreed = h.run();
        } catch (IOException e) {
            if (deadline.cancel()) {
                throw e;
            }
            agreed = null;
        }
        if (!deadline.cancel()) {
            long ms = engine.handshakeTimeout().toMillis();
            LOG.info("connection {} from {}: handshake not finished within {}, disconnected", id,
                    transport.peer().address(), ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms");
            return null;
        }
        return agreed;
    }

    static void closeQuietly(Transport transport) {
        try {
            transport.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
