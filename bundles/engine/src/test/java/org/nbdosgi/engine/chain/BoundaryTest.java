package org.nbdosgi.engine.chain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;
import org.nbdosgi.common.buffers.BufferPool;

class BoundaryTest {
    private final BufferPool pool = new BufferPool();

    private static ByteBuffer bytes(int n, int value) {
        ByteBuffer b = ByteBuffer.allocateDirect(n);
        for (int i = 0; i < n; i++) {
            b.put(i, (byte) value);
        }
        return b;
    }

    @Test
    void emulatesZeroByWritingZeros() throws Exception {
        RecordingHandle raw = new RecordingHandle(4 << 20);
        Arrays.fill(raw.disk, (byte) 7);
        Boundary b = new Boundary(raw, "test", false, pool);
        b.zero(100, 3 << 20, 0);
        assertEquals(0, raw.disk[100]);
        assertEquals(0, raw.disk[100 + (3 << 20) - 1]);
        assertEquals(7, raw.disk[99]);
        assertEquals(7, raw.disk[100 + (3 << 20)]);
        assertEquals(List.of("write 100+1048576 flags=0", "write 1048676+1048576 flags=0", "write 2097252+1048576 flags=0"), raw.calls);
    }

    @Test
    void fastZeroIsRefusedQuicklyWhenEmulated() throws Exception {
        RecordingHandle raw = new RecordingHandle(4096);
        Boundary b = new Boundary(raw, "test", false, pool);
        NbdException e = assertThrows(NbdException.class, () -> b.zero(0, 4096, Flags.FAST_ZERO));
        assertEquals(NbdError.ENOTSUP, e.error());
        assertEquals(List.of(), raw.calls);
    }

    @Test
    void nativeZeroFallsBackOnEnotsupUnlessFast() throws Exception {
        RecordingHandle raw = new RecordingHandle(8192) {
            @Override
            public void zero(long offset, long length, int flags) throws NbdException {
                calls.add("zero refused");
                throw new NbdException(NbdError.ENOTSUP, "not here");
            }
        };
        raw.zero = Support.NATIVE;
        Boundary b = new Boundary(raw, "test", false, pool);
        b.zero(0, 4096, Flags.MAY_TRIM);
        assertEquals(List.of("zero refused", "write 0+4096 flags=0"), raw.calls);
        raw.calls.clear();
        assertEquals(NbdError.ENOTSUP, assertThrows(NbdException.class, () -> b.zero(0, 4096, Flags.FAST_ZERO)).error());
        assertEquals(List.of("zero refused"), raw.calls);
    }

    /** A layer with native zero that refuses it (ENOTSUP) and native FUA, as the file plugin on a file system without fallocate. */
    private static RecordingHandle refusingZeroWithNativeFua(int size) {
        RecordingHandle raw = new RecordingHandle(size) {
            @Override
            public void zero(long offset, long length, int flags) throws NbdException {
                calls.add("zero refused");
                throw new NbdException(NbdError.ENOTSUP, "not here");
            }
        };
        raw.zero = Support.NATIVE;
        raw.fua = Support.NATIVE;
        return raw;
    }

    @Test
    void fuaHoldsWhenARefusedNativeZeroBecomesWrittenZeros() throws Exception {
        RecordingHandle raw = refusingZeroWithNativeFua(3 << 20);
        Boundary b = new Boundary(raw, "test", false, pool);
        b.zero(0, 2 << 20, Flags.FUA);
        assertEquals(List.of("zero refused", "write 0+1048576 flags=0", "write 1048576+1048576 flags=0", "flush"), raw.calls,
                "the zeros written instead must be made durable before the reply");
        raw.calls.clear();
        b.zero(0, 4096, 0);
        assertEquals(List.of("zero refused", "write 0+4096 flags=0"), raw.calls, "no flush without FUA");
    }

    @Test
    void fuaOnWrittenZerosGoesToEachWriteWhenTheLayerHasNativeFuaButNoFlush() throws Exception {
        RecordingHandle raw = refusingZeroWithNativeFua(3 << 20);
        raw.flushable = false;
        Boundary b = new Boundary(raw, "test", false, pool);
        b.zero(0, (1 << 20) + 512, Flags.FUA);
        assertEquals(List.of("zero refused", "write 0+1048576 flags=" + Flags.FUA, "write 1048576+512 flags=" + Flags.FUA),
                raw.calls);
    }

    @Test
    void emulatedZeroWithNativeFuaIsFlushed() throws Exception {
        RecordingHandle raw = new RecordingHandle(8192);
        raw.fua = Support.NATIVE;
        Boundary b = new Boundary(raw, "test", false, pool);
        b.zero(0, 4096, Flags.FUA);
        assertEquals(List.of("write 0+4096 flags=0", "flush"), raw.calls);
    }

    @Test
    void emulatesFuaWithAFlushAndPassesItWhenNative() throws Exception {
        RecordingHandle raw = new RecordingHandle(4096);
        Boundary b = new Boundary(raw, "test", false, pool);
        b.write(bytes(512, 1), 0, Flags.FUA);
        assertEquals(List.of("write 0+512 flags=0", "flush"), raw.calls);

        RecordingHandle nat = new RecordingHandle(4096);
        nat.fua = Support.NATIVE;
        Boundary n = new Boundary(nat, "test", false, pool);
        n.write(bytes(512, 1), 0, Flags.FUA);
        assertEquals(List.of("write 0+512 flags=" + Flags.FUA), nat.calls);
    }

    @Test
    void emulatesCacheByReading() throws Exception {
        RecordingHandle raw = new RecordingHandle(1 << 20);
        raw.cache = Support.EMULATE;
        new Boundary(raw, "test", false, pool).cache(0, 1 << 20, 0);
        assertEquals(List.of("read 0+1048576"), raw.calls);
    }

    @Test
    void whatItEmulatesItOffersUpwardsAsNative() throws Exception {
        RecordingHandle raw = new RecordingHandle(4096);
        raw.cache = Support.EMULATE;
        Boundary b = new Boundary(raw, "test", false, pool);
        assertEquals(Support.NATIVE, b.capabilities().zero());
        assertEquals(Support.NATIVE, b.capabilities().fua());
        assertEquals(Support.NATIVE, b.capabilities().cache());
        assertFalse(b.capabilities().fastZero(), "emulated zero is never fast");
        raw.flushable = false;
        assertEquals(Support.NONE, new Boundary(raw, "test", false, pool).canFua(), "no flush to emulate FUA with");
    }

    @Test
    void readOnlyAndBoundsAreEnforcedBeforeTheLayer() throws Exception {
        RecordingHandle raw = new RecordingHandle(4096);
        Boundary ro = new Boundary(raw, "test", true, pool);
        assertFalse(ro.canWrite());
        assertEquals(Support.NONE, ro.canZero());
        assertEquals(NbdError.EPERM, assertThrows(NbdException.class, () -> ro.write(bytes(1, 1), 0, 0)).error());
        Boundary rw = new Boundary(raw, "test", false, pool);
        assertEquals(NbdError.ENOSPC, assertThrows(NbdException.class, () -> rw.write(bytes(2, 1), 4095, 0)).error());
        assertEquals(NbdError.EINVAL, assertThrows(NbdException.class, () -> rw.read(bytes(2, 1), 4095, 0)).error());
        assertEquals(List.of(), raw.calls);
    }

    @Test
    void aPluginBugBecomesEio() throws Exception {
        RecordingHandle raw = new RecordingHandle(4096) {
            @Override
            public void read(ByteBuffer buf, long offset, int flags) {
                throw new IllegalStateException("boom");
            }
        };
        Boundary b = new Boundary(raw, "buggy", false, pool);
        NbdException e = assertThrows(NbdException.class, () -> b.read(bytes(10, 0), 0, 0));
        assertEquals(NbdError.EIO, e.error());
        assertEquals("buggy: read failed: java.lang.IllegalStateException: boom", e.getMessage());
    }

    @Test
    void lentViewsThatDoNotHoldTheRangeAreAPluginBug() throws Exception {
        RecordingHandle raw = new RecordingHandle(1 << 20) {
            @Override
            public ByteBuffer[] lend(long offset, int length, int flags) {
                return new ByteBuffer[] {bytes(length - 1, 1)};
            }
        };
        Boundary b = new Boundary(raw, "short", false, pool);
        NbdException e = assertThrows(NbdException.class, () -> b.lend(0, 4096, 0));
        assertEquals(NbdError.EIO, e.error());
        assertEquals("short: lend failed: java.lang.IllegalStateException: lent 4095 bytes for 4096", e.getMessage());
        assertEquals(NbdError.EINVAL, assertThrows(NbdException.class, () -> b.lend((1 << 20) - 10, 11, 0)).error());
    }

    @Test
    void aLayerLendsNothingUnlessItSaysSo() throws Exception {
        assertEquals(null, new Boundary(new RecordingHandle(4096), "test", false, pool).lend(0, 4096, 0));
    }

    @Test
    void layersWithoutExtentsReportAllocatedData() throws Exception {
        RecordingHandle raw = new RecordingHandle(1 << 20);
        Extents e = new Extents(4096, 1 << 20);
        new Boundary(raw, "test", false, pool).extents(4096, 8192, 0, e);
        assertEquals(1, e.count());
        assertEquals(8192, e.length(0));
        assertEquals(0, e.type(0));
    }

    @Test
    void buffersKeepTheirPositionAcrossTheBoundary() throws Exception {
        RecordingHandle raw = new RecordingHandle(4096);
        raw.disk[10] = 42;
        Boundary b = new Boundary(raw, "test", false, pool);
        ByteBuffer buf = ByteBuffer.allocateDirect(16).position(4).limit(12);
        b.read(buf, 6, 0);
        assertEquals(4, buf.position());
        assertEquals(12, buf.limit());
        byte[] got = new byte[8];
        buf.get(4, got);
        assertArrayEquals(new byte[] {0, 0, 0, 0, 42, 0, 0, 0}, got);
    }
}
