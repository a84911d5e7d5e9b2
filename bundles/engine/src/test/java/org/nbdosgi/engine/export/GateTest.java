package org.nbdosgi.engine.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

class GateTest {
    private final AtomicBoolean control = new AtomicBoolean();
    private final Gate gate = new Gate(control::get);

    @Test
    void drainWaitsForRequestsInsideAndHoldsNewOnes() throws Exception {
        assertTrue(gate.enter(1, TimeUnit.SECONDS));
        var drained = new CountDownLatch(1);
        var controlPlane = Executors.newSingleThreadExecutor();
        CompletableFuture<Void> drain = CompletableFuture.runAsync(() -> {
            control.set(true);
            try {
                gate.close();
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
            drained.countDown();
        }, controlPlane);
        assertFalse(drained.await(200, TimeUnit.MILLISECONDS), "drain must wait for the request inside");
        CompletableFuture<Boolean> late = CompletableFuture.supplyAsync(() -> {
            try {
                return gate.enter(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        });
        gate.exit();
        assertTrue(drained.await(5, TimeUnit.SECONDS));
        drain.get();
        Thread.sleep(100);
        assertFalse(late.isDone(), "a new request waits while the gate is closed");
        assertEquals(0, gate.inside());
        gate.open();
        assertTrue(late.get(5, TimeUnit.SECONDS));
        controlPlane.shutdown();
    }

    @Test
    void waitingAtAClosedGateTimesOut() throws Exception {
        control.set(true);
        gate.close();
        control.set(false);
        long t0 = System.nanoTime();
        assertFalse(gate.enter(100, TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(100));
    }

    @Test
    void eachClosingIsAPauseWhoseTimeGrowsWhileItLasts() throws Exception {
        assertEquals(0, gate.pauses());
        assertEquals(0, gate.pausedNanos());
        control.set(true);
        gate.close();
        gate.close();                                      // already closed: the same pause
        Thread.sleep(20);
        long during = gate.pausedNanos();
        assertTrue(during >= TimeUnit.MILLISECONDS.toNanos(20), "the pause going on counts: " + during);
        gate.open();
        assertEquals(1, gate.pauses());
        long after = gate.pausedNanos();
        assertTrue(after >= during);
        Thread.sleep(10);
        assertEquals(after, gate.pausedNanos(), "an open gate adds nothing");
        gate.open();                                       // already open: no pause
        assertEquals(1, gate.pauses());
    }

    @Test
    void onlyTheControlPlaneMayDrain() {
        assertThrows(IllegalStateException.class, gate::close);
    }
}
