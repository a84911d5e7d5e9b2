package org.nbdosgi.plugin.vddk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.plugin.vddk.VddkStats.Call;

class VddkStatsTest {
    @Test
    void countsCallsBytesAndTimeMostTimeFirst() {
        VddkStats s = new VddkStats();
        long now = System.nanoTime();
        s.record(Call.ReadAsync, now - 3_000_000, 4096);
        s.record(Call.ReadAsync, now - 1_000_000, 512);
        s.record(Call.Flush, now - 1_000, 0);
        List<VddkStats.Row> rows = s.rows();
        assertEquals(2, rows.size());
        assertEquals("VixDiskLib_ReadAsync", rows.get(0).function());
        assertEquals(2, rows.get(0).calls());
        assertEquals(4608, rows.get(0).bytes());
        assertTrue(rows.get(0).micros() >= 4000, "time adds up: " + rows.get(0).micros());
        assertEquals("VixDiskLib_Flush", rows.get(1).function());
        String table = s.table();
        assertTrue(table.startsWith("FUNCTION"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("VixDiskLib_ReadAsync") && l.trim().endsWith("4608")), table);
    }

    @Test
    void unusedFunctionsAreNotListed() {
        assertEquals(List.of(), new VddkStats().rows());
    }
}
