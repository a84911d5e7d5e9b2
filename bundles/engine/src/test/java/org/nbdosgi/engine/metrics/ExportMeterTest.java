package org.nbdosgi.engine.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.NbdError;

class ExportMeterTest {
    private static final int READ = 0;
    private static final int WRITE = 1;

    @Test
    void totalsAreLiveConnectionsPlusThoseThatEndedAndNeverGoDown() {
        ExportMeter export = new ExportMeter();
        RequestMeter a = new RequestMeter();
        RequestMeter b = new RequestMeter();
        export.attach(a);
        export.attach(b);
        a.completed(WRITE, 4096, 0, 10_000, null);
        a.completed(WRITE, 0, 0, 10_000, NbdError.ENOSPC);
        b.completed(READ, 65536, 0, 2_000_000, null);
        b.parked(5_000_000);

        RequestMeter before = export.total();
        export.detach(b);
        RequestMeter after = export.total();
        for (RequestMeter t : new RequestMeter[] {before, after}) {
            assertEquals(2, t.latency(WRITE).count());
            assertEquals(4096, t.bytes(WRITE));
            assertEquals(1, t.errors(WRITE, NbdError.ENOSPC));
            assertEquals(1, t.latency(READ).count());
            assertEquals(65536, t.bytes(READ));
            assertEquals(5_000_000, t.parkedNanos());
            assertEquals(1, t.parkedRequests());
        }
        export.detach(b);                                  // twice: counted once
        assertEquals(1, export.total().latency(READ).count());
        assertEquals(2, export.connections());
    }

    @Test
    void unknownCommandsCountAsOther() {
        RequestMeter m = new RequestMeter();
        m.completed(42, 0, 0, 1, NbdError.EINVAL);
        assertEquals(1, m.latency(RequestMeter.OPS - 1).count());
        assertEquals("other", RequestMeter.opName(RequestMeter.op(42)));
        assertEquals("write_zeroes", RequestMeter.opName(6));
    }
}
