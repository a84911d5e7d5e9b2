package org.nbdosgi.engine.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.engine.protocol.Nbd;

class RequestCheckTest {
    private static final long SIZE = 1 << 20;
    private static final int ALL = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
            | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO | Nbd.FLAG_SEND_CACHE | Nbd.FLAG_SEND_DF;

    private static RequestCheck writable() {
        return new RequestCheck(SIZE, 1, 65536, ALL, true, true);
    }

    private static NbdError error(RequestCheck c, int type, int flags, long offset, long length) {
        RequestCheck.Refusal r = c.check(type, flags, offset, length);
        return r == null ? null : r.error();
    }

    @Test
    void requestsWithinTheExportPass() {
        RequestCheck c = writable();
        assertNull(c.check(Nbd.CMD_READ, Nbd.CMD_FLAG_DF, 0, 4096));
        assertNull(c.check(Nbd.CMD_WRITE, Nbd.CMD_FLAG_FUA, SIZE - 4096, 4096));
        assertNull(c.check(Nbd.CMD_WRITE_ZEROES, Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO, 0, SIZE));
        assertNull(c.check(Nbd.CMD_BLOCK_STATUS, Nbd.CMD_FLAG_REQ_ONE, 0, SIZE));
        assertNull(c.check(Nbd.CMD_FLUSH, 0, 0, 0));
    }

    @Test
    void zeroLengthRequestsAreRefusedAsNbdkitRefusesThem() {
        RequestCheck c = writable();
        assertEquals(new RequestCheck.Refusal(NbdError.EINVAL, "read of length zero"), c.check(Nbd.CMD_READ, 0, 0, 0));
        assertEquals(NbdError.ENOSPC, error(c, Nbd.CMD_WRITE, 0, 0, 0));
        assertEquals(NbdError.ENOSPC, error(c, Nbd.CMD_WRITE_ZEROES, 0, 0, 0));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_TRIM, 0, 0, 0));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_CACHE, 0, 0, 0));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_BLOCK_STATUS, 0, 0, 0));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_READ, 0, SIZE, 0), "at the end too");
    }

    @Test
    void aFlushWithAnOffsetOrLengthIsEinval() {
        RequestCheck c = writable();
        assertEquals(new RequestCheck.Refusal(NbdError.EINVAL, "a flush's offset and length must be zero"),
                c.check(Nbd.CMD_FLUSH, 0, 12345, 0));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_FLUSH, 0, 0, 678));
    }

    @Test
    void aWriteOnAReadOnlyExportIsEperm() {
        RequestCheck c = new RequestCheck(SIZE, 1, 65536, ALL | Nbd.FLAG_READ_ONLY, true, true);
        RequestCheck.Refusal r = c.check(Nbd.CMD_WRITE, 0, 0, 512);
        assertEquals(new RequestCheck.Refusal(NbdError.EPERM, "the export is read-only"), r);
        assertEquals(NbdError.EPERM, error(c, Nbd.CMD_TRIM, 0, 0, 512));
        assertEquals(NbdError.EPERM, error(c, Nbd.CMD_WRITE_ZEROES, 0, 0, 512));
        assertNull(c.check(Nbd.CMD_READ, 0, 0, 512));
    }

    @Test
    void pastTheEndIsEnospcForWritesAndEinvalOtherwise() {
        RequestCheck c = writable();
        assertEquals(NbdError.ENOSPC, error(c, Nbd.CMD_WRITE, 0, SIZE - 100, 512));
        assertEquals(NbdError.ENOSPC, error(c, Nbd.CMD_WRITE_ZEROES, 0, SIZE, 1));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_READ, 0, SIZE - 100, 512));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_TRIM, 0, SIZE, 1));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_READ, 0, -4096, 512), "an offset above 2^63");
        assertEquals("request 1048476+512 is beyond the end of the export (1048576)",
                c.check(Nbd.CMD_READ, 0, SIZE - 100, 512).reason());
    }

    @Test
    void whatWasNotNegotiatedIsEinval() {
        RequestCheck bare = new RequestCheck(SIZE, 1, 65536, Nbd.FLAG_HAS_FLAGS, false, false);
        assertEquals(NbdError.EINVAL, error(bare, Nbd.CMD_FLUSH, 0, 0, 0));
        assertEquals(NbdError.EINVAL, error(bare, Nbd.CMD_TRIM, 0, 0, 512));
        assertEquals(NbdError.EINVAL, error(bare, Nbd.CMD_WRITE_ZEROES, 0, 0, 512));
        assertEquals(NbdError.EINVAL, error(bare, Nbd.CMD_CACHE, 0, 0, 512));
        assertEquals(NbdError.EINVAL, error(bare, Nbd.CMD_WRITE, Nbd.CMD_FLAG_FUA, 0, 512));
        assertEquals(NbdError.EINVAL, error(bare, Nbd.CMD_READ, Nbd.CMD_FLAG_DF, 0, 512), "DF needs structured replies");
        assertEquals("block status needs a meta context selected for this export",
                bare.check(Nbd.CMD_BLOCK_STATUS, 0, 0, 512).reason());
        assertEquals("unknown command 42", bare.check(42, 0, 0, 0).reason());
        assertEquals(NbdError.EINVAL, error(writable(), Nbd.CMD_READ, Nbd.CMD_FLAG_NO_HOLE, 0, 512), "a flag of another command");
    }

    @Test
    void payloadLimitAndAcknowledgedBlockSize() {
        RequestCheck c = new RequestCheck(SIZE, 4096, 65536, ALL, true, true);
        assertEquals("request of 65537 bytes is larger than the maximum 65536", c.check(Nbd.CMD_READ, 0, 0, 65537).reason());
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_WRITE, 0, 512, 4096));
        assertEquals(NbdError.EINVAL, error(c, Nbd.CMD_TRIM, 0, 0, 1000));
        assertNull(c.check(Nbd.CMD_TRIM, 0, 8192, SIZE - 8192), "trim is not limited by the payload maximum");
    }
}
