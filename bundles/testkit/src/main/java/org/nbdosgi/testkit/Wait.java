package org.nbdosgi.testkit;

import java.time.Duration;

/**
 * Waiting in tests until something holds: polls a condition every 20 ms up to a generous limit,
 * so a loaded machine slows a test down instead of failing it; the failure says what did not
 * happen and, if asked, the state last seen. Never a fixed sleep as an assertion.
 */
public final class Wait {
    private static final long POLL_MILLIS = 20;

    private Wait() {
    }

    /** A condition that may throw (a console command, a socket read). */
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** What was awaited, said when it did not happen (it may read a log, show the state last seen). */
    public interface Description {
        String text() throws Exception;
    }

    /** Waits until {@code condition} holds; fails with "{@code what} did not happen within LIMIT". */
    public static void until(Duration limit, String what, Condition condition) throws Exception {
        until(limit, () -> what, condition);
    }

    /** As {@link #until(Duration, String, Condition)}; {@code what} is asked only on failure. */
    public static void until(Duration limit, Description what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                String text;
                try {
                    text = what.text();
                } catch (Exception e) {
                    text = "(" + e + ")";
                }
                throw new AssertionError(text + " did not happen within " + limit.toSeconds() + " s");
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
