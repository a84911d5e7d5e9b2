package org.nbdosgi.plugin.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

/** The per-object queues, with changes the test finishes by hand. */
class ObjectQueuesTest {
    @Test
    void aBatchWaitsForTheChangesBeforeItOnAnyOfItsObjectsAndLaterChangesWaitForIt() {
        ObjectQueues queues = new ObjectQueues();
        CompletableFuture<Void> write5 = new CompletableFuture<>();
        queues.run(5, () -> write5);
        AtomicBoolean batchStarted = new AtomicBoolean();
        CompletableFuture<Void> batchCall = new CompletableFuture<>();
        CompletableFuture<Void> batch = queues.runAll(new long[] {4, 5, 6}, () -> {
            batchStarted.set(true);
            return batchCall;
        });
        AtomicBoolean laterStarted = new AtomicBoolean();
        CompletableFuture<Void> later = queues.run(6, () -> {
            laterStarted.set(true);
            return CompletableFuture.completedFuture(null);
        });
        AtomicBoolean otherStarted = new AtomicBoolean();
        queues.run(7, () -> {
            otherStarted.set(true);
            return CompletableFuture.completedFuture(null);
        });

        assertTrue(otherStarted.get(), "an object outside the batch is not held up");
        assertFalse(batchStarted.get(), "the batch waits for the write queued before it on object 5");
        write5.complete(null);
        assertTrue(batchStarted.get());
        assertFalse(laterStarted.get(), "a change to object 6 queued after the batch waits for it");
        batchCall.complete(null);
        assertTrue(batch.isDone() && later.isDone() && laterStarted.get());
        assertEquals(0, queues.busy());
    }

    @Test
    void twoBatchesOverTheSameObjectsRunOneAfterTheOther() {
        ObjectQueues queues = new ObjectQueues();
        CompletableFuture<Void> first = new CompletableFuture<>();
        queues.runAll(new long[] {1, 2, 3}, () -> first);
        AtomicBoolean secondStarted = new AtomicBoolean();
        CompletableFuture<Void> second = queues.runAll(new long[] {3, 2, 1}, () -> {
            secondStarted.set(true);
            return CompletableFuture.completedFuture(null);
        });
        assertFalse(secondStarted.get());
        first.complete(null);
        assertTrue(second.isDone() && secondStarted.get());
        assertEquals(0, queues.busy());
    }
}
