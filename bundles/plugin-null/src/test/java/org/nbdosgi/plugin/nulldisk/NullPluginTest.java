package org.nbdosgi.plugin.nulldisk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Handle;

class NullPluginTest {
    private static final ClientContext CLIENT = new ClientContext("", false, "test", 1);

    private static Handle open(Map<String, String> params) throws Exception {
        return new NullPlugin().create(new Config(params), new ExportContext("", false)).open(CLIENT);
    }

    @Test
    void writesVanishAndEveryReadIsZeros() throws Exception {
        Handle h = open(Map.of("size", "3M"));
        assertEquals(3 << 20, h.size());
        ByteBuffer data = ByteBuffer.allocateDirect((1 << 20) + 3);
        while (data.hasRemaining()) {
            data.put((byte) 7);
        }
        h.write(data.flip(), 0, 0);
        ByteBuffer read = ByteBuffer.allocateDirect((1 << 20) + 3);
        read.put(0, (byte) 1).put(read.capacity() - 1, (byte) 1);
        h.read(read, 0, 0);
        for (int i = 0; i < read.capacity(); i++) {
            assertEquals(0, read.get(i), "byte " + i);
        }
        assertEquals(0, read.position(), "the buffer's position is left alone");
    }

    @Test
    void theSizeIsZeroByDefaultAndBadSizesAreRefused() throws Exception {
        assertEquals(0, open(Map.of()).size());
        assertThrows(ConfigException.class, () -> open(Map.of("size", "1Q")));
    }

    @Test
    void everythingIsAHoleThatReadsAsZeros() throws Exception {
        Extents e = new Extents(0, 1 << 20);
        open(Map.of("size", "1M")).extents(0, 1 << 20, 0, e);
        assertEquals(1, e.count());
        assertEquals(1 << 20, e.length(0));
        assertEquals(Extents.HOLE | Extents.ZERO, e.type(0));
    }
}
