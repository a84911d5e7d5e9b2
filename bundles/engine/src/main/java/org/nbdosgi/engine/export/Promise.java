package org.nbdosgi.engine.export;

import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.Capabilities;
import org.nbdosgi.api.Support;
import org.nbdosgi.engine.protocol.Nbd;

/**
 * What a client is told when it enters transmission, as far as the chain decides it: the size, the
 * minimum block size and the transmission flags, all derived here from the top layer's
 * {@link Capabilities} (the connection adds only what depends on the negotiation: DF with
 * structured replies). A rewired chain must keep every capability promised (it may add more).
 */
public record Promise(long size, int minimumBlock, int flags) {
    /** The flags a rewire must keep, with the names users read when one is lost. */
    private static final int[] KEPT = {Nbd.FLAG_SEND_FLUSH, Nbd.FLAG_SEND_FUA, Nbd.FLAG_SEND_TRIM,
            Nbd.FLAG_SEND_WRITE_ZEROES, Nbd.FLAG_CAN_MULTI_CONN};
    private static final String[] KEPT_NAMES = {"flush", "FUA", "trim", "zero", "multi-conn"};

    public static Promise of(Capabilities c) {
        int f = Nbd.FLAG_HAS_FLAGS;
        if (!c.write()) {
            f |= Nbd.FLAG_READ_ONLY;
        }
        if (c.flush()) {
            f |= Nbd.FLAG_SEND_FLUSH;
        }
        if (c.fua() != Support.NONE) {
            f |= Nbd.FLAG_SEND_FUA;
        }
        if (c.rotational()) {
            f |= Nbd.FLAG_ROTATIONAL;
        }
        if (c.trim()) {
            f |= Nbd.FLAG_SEND_TRIM;
        }
        if (c.zero() != Support.NONE) {
            f |= Nbd.FLAG_SEND_WRITE_ZEROES;
            if (c.fastZero()) {
                f |= Nbd.FLAG_SEND_FAST_ZERO;
            }
        }
        if (c.multiConn()) {
            f |= Nbd.FLAG_CAN_MULTI_CONN;
        }
        if (c.cache() != Support.NONE) {
            f |= Nbd.FLAG_SEND_CACHE;
        }
        return new Promise(c.size(), c.blockSize().minimum(), f);
    }

    /** Whether the client may use what {@code flag} (an {@code Nbd.FLAG_SEND_*}) offers. */
    public boolean offers(int flag) {
        return (flags & flag) != 0;
    }

    /** What {@code now} no longer offers of this promise; empty if it keeps it. */
    public List<String> brokenBy(Promise now) {
        List<String> broken = new ArrayList<>();
        if (now.size != size) {
            broken.add("size " + size + " (would be " + now.size + ")");
        }
        if (now.minimumBlock > minimumBlock) {
            broken.add("minimum block size " + minimumBlock + " (would be " + now.minimumBlock + ")");
        }
        if (!offers(Nbd.FLAG_READ_ONLY) && now.offers(Nbd.FLAG_READ_ONLY)) {
            broken.add("write");
        }
        for (int i = 0; i < KEPT.length; i++) {
            if (offers(KEPT[i]) && !now.offers(KEPT[i])) {
                broken.add(KEPT_NAMES[i]);
            }
        }
        return broken;
    }
}
