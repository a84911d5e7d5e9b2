package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class InFlightTest {
    /** Runs {@code take} on another thread; the latch opens when it got through. */
    private static CountDownLatch takeInBackground(InFlight f, long writeBytes) {
        CountDownLatch took = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            try {
                f.take(writeBytes);
                took.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return took;
    }

    @Test
    void theReaderWaitsForARequestSlotAndGoesOnWhenOneIsGivenBack() throws Exception {
        InFlight f = new InFlight(2, 1 << 20);
        f.take(0);
        f.take(0);
        assertEquals(2, f.requests());
        CountDownLatch third = takeInBackground(f, 0);
        assertFalse(third.await(200, TimeUnit.MILLISECONDS), "a third request waits");
        f.finished(0);
        assertTrue(third.await(5, TimeUnit.SECONDS));
        assertFalse(f.tryTakeRead(4096), "no slot for a read either: it is deferred");
    }

    @Test
    void theReaderWaitsForWriteBytesAndAnyRequestFitsAlone() throws Exception {
        InFlight f = new InFlight(100, 1 << 20);
        assertEquals(1 << 20, f.share(64 << 20), "a request larger than the budget takes all of it");
        f.take(f.share(600_000));
        CountDownLatch second = takeInBackground(f, f.share(600_000));
        assertFalse(second.await(200, TimeUnit.MILLISECONDS), "600 + 600 KB are over the budget");
        f.finished(600_000);
        assertTrue(second.await(5, TimeUnit.SECONDS));
    }

    @Test
    void readBytesHeldByUnsentRepliesNeverHoldUpAWrite() throws Exception {
        InFlight f = new InFlight(100, 1 << 20);
        assertTrue(f.tryTakeRead(1 << 20));
        f.finished(0);                                       // the read ran: its reply waits for the client
        assertFalse(f.tryTakeRead(4096), "the read bytes are spent until the client reads");
        assertTrue(takeInBackground(f, 1 << 20).await(5, TimeUnit.SECONDS), "a write still gets its payload bytes");
        f.readSent(1 << 20);
        assertTrue(f.tryTakeRead(4096));
    }

    @Test
    void awaitNoneReturnsOnceEveryRequestIsAnswered() throws Exception {
        InFlight f = new InFlight(8, 1 << 20);
        f.take(100);
        f.take(200);
        boolean[] deferredLeft = {true};
        CountDownLatch none = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            f.awaitNone(() -> !deferredLeft[0]);
            none.countDown();
        });
        f.finished(100);
        f.answered();
        f.finished(200);
        f.answered();
        assertFalse(none.await(200, TimeUnit.MILLISECONDS), "a deferred read is still waiting");
        deferredLeft[0] = false;
        f.wake();
        assertTrue(none.await(5, TimeUnit.SECONDS));
        assertEquals(0, f.requests());
    }
}
