package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;

import java.util.Random;

import org.nbdosgi.api.ExportState;
import org.nbdosgi.api.ServerAdmin;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/** What the Pax Exam tests that update bundles and rewire exports under a client share. */
final class Exam {
    private Exam() {
    }

    static Bundle bundle(BundleContext context, String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError("no bundle " + symbolicName);
    }

    /** Waits (up to 10 s) until the export runs again after an update or rewire. */
    static void awaitRunning(ServerAdmin admin, String export) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (admin.export(export).state() != ExportState.RUNNING && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(ExportState.RUNNING, admin.export(export).state());
    }

    static byte[] random(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
