package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class InFlightTest {
    /** Runs {@code take} on another thread; the latch opens when it got through. */
    private static CountDownLatch takeInBackground(InFlight f, int bytes) {
        CountDownLatch took = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            try {
                f.take(bytes);
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
        f.giveBack(0);
        assertTrue(third.await(5, TimeUnit.SECONDS));
        assertEquals(2, f.requests());
    }

    @Test
    void theReaderWaitsForBytesAndAnyRequestFitsAlone() throws Exception {
        InFlight f = new InFlight(100, 1000);
        assertEquals(1000, f.share(1 << 20), "a request larger than the budget takes all of it");
        f.take(f.share(600));
        CountDownLatch second = takeInBackground(f, f.share(600));
        assertFalse(second.await(200, TimeUnit.MILLISECONDS), "600 + 600 bytes are over the budget");
        f.giveBack(600);
        assertTrue(second.await(5, TimeUnit.SECONDS));
    }

    @Test
    void awaitNoneReturnsOnceEveryRequestIsBack() throws Exception {
        InFlight f = new InFlight(8, 1 << 20);
        f.take(100);
        f.take(200);
        CountDownLatch none = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            f.awaitNone();
            none.countDown();
        });
        f.giveBack(100);
        assertFalse(none.await(200, TimeUnit.MILLISECONDS), "one request is still out");
        f.giveBack(200);
        assertTrue(none.await(5, TimeUnit.SECONDS));
        assertEquals(0, f.requests());
    }
}
