package org.nbdosgi.itests;

import java.time.Duration;
import java.util.Random;

import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.testkit.Wait;
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

    /** Waits (up to 30 s: a loaded machine) until the export runs again after an update or rewire. */
    static void awaitRunning(ServerAdmin admin, String export) throws Exception {
        Wait.until(Duration.ofSeconds(30), "export '" + export + "' running", () -> admin.export(export).state() == ExportState.RUNNING);
    }

    static byte[] random(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
