package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class PayloadBudgetTest {
    @Test
    void bytesGivenBackGoToTheWaitersInTheOrderTheyCame() throws Exception {
        PayloadBudget b = new PayloadBudget(100);
        assertTrue(b.tryTake(100));
        List<String> granted = new CopyOnWriteArrayList<>();
        assertFalse(b.takeOrWait(60, () -> granted.add("first 60")));
        assertFalse(b.takeOrWait(30, () -> granted.add("then 30")));
        assertFalse(b.tryTake(10), "nobody cuts in line, even for bytes that are free");
        b.giveBack(50);
        assertEquals(List.of(), granted, "50 free: the first in line needs 60");
        b.giveBack(50);
        assertEquals(List.of("first 60", "then 30"), granted);
        assertEquals(90, b.used());
        assertTrue(b.tryTake(10));
        assertFalse(b.tryTake(1));
    }

    @Test
    void aParkedTakerWakesWhenItsBytesComeBack() throws Exception {
        PayloadBudget b = new PayloadBudget(64);
        assertTrue(b.tryTake(64));
        CountDownLatch took = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            try {
                b.take(32);
                took.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertFalse(took.await(200, TimeUnit.MILLISECONDS));
        b.giveBack(32);
        assertTrue(took.await(5, TimeUnit.SECONDS));
        assertEquals(64, b.used());
        assertEquals(64, b.share(1 << 20), "a request larger than the whole budget takes all of it and runs alone");
    }
}
