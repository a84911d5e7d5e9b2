package org.nbdosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class UnitsTest {
    @Test
    void sizesWithSuffixes() {
        assertEquals(1L << 30, Units.parseSize("1G"));
        assertEquals(1L << 30, Units.parseSize("1g"));
        assertEquals(1L << 30, Units.parseSize("1GiB"));
        assertEquals(1L << 30, Units.parseSize("1GB"));
        assertEquals(1536L << 10, Units.parseSize("1536K"));
        assertEquals(512, Units.parseSize("512"));
        assertEquals(1024, Units.parseSize("2s"));                  // sectors, as nbdkit accepts
        assertEquals(7L << 60, Units.parseSize("7E"));
        assertEquals(Long.MAX_VALUE, Units.parseSize(Long.toString(Long.MAX_VALUE)));
    }

    @Test
    void badSizesSayWhy() {
        assertEquals("cannot parse size '1Q'", assertThrows(IllegalArgumentException.class, () -> Units.parseSize("1Q")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Units.parseSize("8E")).getMessage().contains("too large"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("-1"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize(""));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("1.5G"));
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(10), Units.parseDuration("10ms"));
        assertEquals(Duration.ofSeconds(1), Units.parseDuration("1s"));
        assertEquals(Duration.ofNanos(500_000), Units.parseDuration("500us"));
        assertEquals(Duration.ofMillis(500), Units.parseDuration("0.5"));
        assertEquals(Duration.ofMinutes(2), Units.parseDuration("2m"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("10 parsecs")).getMessage()
                .contains("unknown unit"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("ms"));
    }

    @Test
    void booleans() {
        assertTrue(Units.parseBoolean("yes"));
        assertTrue(Units.parseBoolean("ON"));
        assertFalse(Units.parseBoolean("0"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseBoolean("maybe"));
    }

    @Test
    void formatting() {
        assertEquals("1G", Units.formatSize(1L << 30));
        assertEquals("1536K", Units.formatSize(1536L << 10));
        assertEquals("1000", Units.formatSize(1000));
        assertEquals("0", Units.formatSize(0));
    }
}
