package org.nbdosgi.filter.ext2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import com.sun.jna.Memory;

class MetadataCacheTest {
    private static Memory bytes(int length, int value) {
        Memory m = new Memory(length);
        m.setMemory(0, length, (byte) value);
        return m;
    }

    @Test
    void servesExactlyWhatWasReadAndFollowsWritesOfTheSameBytes() {
        MetadataCache cache = new MetadataCache();
        Memory out = bytes(4096, 0);
        assertFalse(cache.read(8192, 4096, out));
        cache.readFromBelow(8192, 4096, bytes(4096, 1));
        assertTrue(cache.read(8192, 4096, out));
        assertArrayEquals(bytes(4096, 1).getByteArray(0, 4096), out.getByteArray(0, 4096));
        assertFalse(cache.read(8192, 1024, out), "another length is another read");

        cache.wroteBelow(8192, 4096, bytes(4096, 2));
        assertTrue(cache.read(8192, 4096, out));
        assertArrayEquals(bytes(4096, 2).getByteArray(0, 4096), out.getByteArray(0, 4096));
    }

    @Test
    void writesAndZeroingThatOverlapAnEntryDropIt() {
        MetadataCache cache = new MetadataCache();
        Memory out = bytes(4096, 0);
        cache.readFromBelow(0, 4096, bytes(4096, 1));
        cache.readFromBelow(4096, 4096, bytes(4096, 1));
        cache.wroteBelow(2048, 4096, bytes(4096, 3));           // straddles both
        assertFalse(cache.read(0, 4096, out));
        assertFalse(cache.read(4096, 4096, out));

        cache.readFromBelow(65536, 4096, bytes(4096, 1));
        cache.forget(65536 + 4095, 1);
        assertFalse(cache.read(65536, 4096, out));
    }

    @Test
    void writesNeverEnterTheCache() {
        MetadataCache cache = new MetadataCache();
        cache.wroteBelow(0, 4096, bytes(4096, 7));               // e.g. a new data block being zeroed
        assertFalse(cache.read(0, 4096, bytes(4096, 0)));
    }
}
