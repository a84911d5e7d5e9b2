package org.nbdosgi.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ConfigTest {
    enum Mode { WRITEBACK, WRITE_THROUGH }

    @Test
    void typedGettersAndDefaults() throws Exception {
        Config c = new Config(Map.of("size", "1M", "delay", "5ms", "on", "true", "n", "7", "mode", "write-through"));
        assertEquals(1 << 20, c.size("size", 0));
        assertEquals(Duration.ofMillis(5), c.duration("delay", Duration.ZERO));
        assertEquals(true, c.bool("on", false));
        assertEquals(7, c.integer("n", 0));
        assertEquals(Mode.WRITE_THROUGH, c.choice("mode", Mode.class, Mode.WRITEBACK));
        assertEquals(Mode.WRITEBACK, c.choice("other", Mode.class, Mode.WRITEBACK));
        assertEquals(42, c.size("absent", 42));
    }

    @Test
    void errorsNameTheParameter() {
        Config c = new Config(Map.of("size", "big", "n", "x", "mode", "sideways"));
        assertEquals("size: cannot parse size 'big'", assertThrows(ConfigException.class, () -> c.size("size", 0)).getMessage());
        assertEquals("n: cannot parse 'x'", assertThrows(ConfigException.class, () -> c.integer("n", 0)).getMessage());
        assertEquals("mode: 'sideways' is not one of writeback|write-through",
                assertThrows(ConfigException.class, () -> c.choice("mode", Mode.class, null)).getMessage());
        assertEquals("file: this parameter is required", assertThrows(ConfigException.class, () -> c.require("file")).getMessage());
    }

    @Test
    void blockSizesCombineToSatisfyBoth() {
        BlockSize a = new BlockSize(512, 4096, 1 << 20);
        BlockSize b = new BlockSize(4096, 65536, 32 << 20);
        assertEquals(new BlockSize(4096, 65536, 1 << 20), a.combine(b));
        assertThrows(IllegalArgumentException.class, () -> new BlockSize(3, 4096, 4096));
        assertThrows(IllegalArgumentException.class, () -> new BlockSize(512, 256, 4096));
    }
}
