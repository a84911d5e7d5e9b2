package org.nbdosgi.engine.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class DeadlinesTest {
    @Test
    void aDeadlineThatPassesClosesTheTransport() throws Exception {
        try (Deadlines deadlines = new Deadlines()) {
            MemoryTransport t = new MemoryTransport(new byte[0]);
            Deadlines.Deadline d = deadlines.start(t, Duration.ofMillis(20));
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!t.closed && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertTrue(t.closed);
            assertTrue(d.passed());
            assertFalse(d.cancel(), "too late: the phase did not end in time");
        }
    }

    @Test
    void aPhaseThatEndsInTimeLeavesTheTransportOpen() throws Exception {
        try (Deadlines deadlines = new Deadlines()) {
            MemoryTransport t = new MemoryTransport(new byte[0]);
            Deadlines.Deadline d = deadlines.start(t, Duration.ofMillis(200));
            assertTrue(d.cancel());
            assertTrue(d.cancel(), "cancelling twice says the same");
            Thread.sleep(400);
            assertFalse(t.closed);
            assertFalse(deadlines.start(t, Duration.ZERO).passed(), "zero: no limit");
        }
    }

    @Test
    void anIdleServerHoldsNoDeadlineThread() throws Exception {
        try (Deadlines deadlines = new Deadlines()) {
            MemoryTransport t = new MemoryTransport(new byte[0]);
            deadlines.start(t, Duration.ofMillis(20));
            assertTrue(deadlineThreads() > 0, "a deadline armed: its thread runs");
            long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (deadlineThreads() > 0 && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            assertTrue(t.closed);
            assertTrue(deadlineThreads() == 0, "no deadline left: the thread ended");
            deadlines.start(t, Duration.ofMillis(20));
            assertTrue(deadlineThreads() > 0, "armed again: a thread again");
        }
    }

    private static long deadlineThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(th -> th.getName().equals("nbd-deadlines")).count();
    }
}
