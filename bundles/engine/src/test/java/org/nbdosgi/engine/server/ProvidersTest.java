package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

class ProvidersTest {
    private static Map<String, Object> props(long id, int ranking) {
        return Map.of(Constants.SERVICE_ID, id, Constants.SERVICE_RANKING, ranking);
    }

    @Test
    void theNewestProviderOfANameIsUsedAndTheOlderOneTakesOverWhenItGoes() {
        Providers<String> p = new Providers<>();
        p.add("memory", "memory 0.1", props(10, 0));
        p.add("memory", "memory 0.2", props(11, 0));
        assertEquals("memory 0.2", p.best("memory"));
        assertEquals(1, p.remove("memory", "memory 0.2"));
        assertEquals("memory 0.1", p.best("memory"));
    }

    @Test
    void removingAnOlderProviderKeepsTheBestAndTheLastOneLeavesNone() {
        Providers<String> p = new Providers<>();
        p.add("memory", "old", props(10, 0));
        p.add("memory", "new", props(11, 0));
        assertEquals(1, p.remove("memory", "old"));
        assertEquals("new", p.best("memory"));
        assertEquals(0, p.remove("memory", "new"));
        assertNull(p.best("memory"));
        assertEquals(0, p.remove("memory", "new"));
    }

    @Test
    void aHigherServiceRankingWinsOverANewerRegistration() {
        Providers<String> p = new Providers<>();
        p.add("stats", "preferred", props(10, 5));
        p.add("stats", "newer", props(11, 0));
        p.add("delay", "delay", Map.of(Constants.SERVICE_ID, 12L));
        assertEquals("preferred", p.best("stats"));
        assertEquals(List.of("delay", "preferred"), p.bestOfEach().stream().sorted().toList());
    }
}
