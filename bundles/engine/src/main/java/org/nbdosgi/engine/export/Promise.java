package org.nbdosgi.engine.export;

import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.Support;
import org.nbdosgi.engine.chain.Boundary;

/**
 * What a client was told when it entered transmission, as far as the chain decides it: the size
 * and the capabilities it may use. A rewired chain must keep every one of them (it may add more).
 */
public record Promise(long size, int minimumBlock, boolean write, boolean flush, boolean fua, boolean trim,
                      boolean zero, boolean multiConn) {

    public static Promise of(Boundary top) {
        return new Promise(top.size(), top.blockSize().minimum(), top.canWrite(), top.canFlush(),
                top.canFua() != Support.NONE, top.canTrim(), top.canZero() != Support.NONE, top.canMultiConn());
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
        lost(broken, "write", write, now.write);
        lost(broken, "flush", flush, now.flush);
        lost(broken, "FUA", fua, now.fua);
        lost(broken, "trim", trim, now.trim);
        lost(broken, "zero", zero, now.zero);
        lost(broken, "multi-conn", multiConn, now.multiConn);
        return broken;
    }

    private static void lost(List<String> broken, String what, boolean promised, boolean offered) {
        if (promised && !offered) {
            broken.add(what);
        }
    }
}
