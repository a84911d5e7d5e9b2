package org.nbdosgi.engine.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.EOFException;
import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;
import org.nbdosgi.common.buffers.BufferPool;
import org.nbdosgi.engine.transport.MemoryTransport;

class WireInTest {
    private static byte[] stream(int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) i;
        }
        return b;
    }

    @Test
    void untilReadAheadNothingPastWhatWasAskedForIsTakenFromTheTransport() throws Exception {
        MemoryTransport t = new MemoryTransport(ByteBuffer.allocate(16 + 100).putInt(7).putShort((short) 9).putLong(42)
                .putShort((short) 3).array());
        WireIn in = new WireIn(t, new BufferPool());
        assertEquals(7, in.readInt());
        assertEquals(9, in.readShort());
        assertEquals(42, in.readLong());
        ByteBuffer two = ByteBuffer.allocate(2);
        in.readFully(two);
        assertEquals(3, two.flip().getShort());
        assertEquals(100, t.input.remaining(), "what follows stays in the transport (for TLS after STARTTLS)");
    }

    @Test
    void skippingATooLongOptionStopsAtItsEnd() throws Exception {
        MemoryTransport t = new MemoryTransport(stream(200_000 + 10));
        WireIn in = new WireIn(t, new BufferPool());
        in.skip(200_000);
        assertEquals(10, t.input.remaining());
        assertEquals(ByteBuffer.wrap(stream(200_004)).getInt(200_000), in.readInt());
    }

    @Test
    void withReadAheadOneRefillTakesWhatTheTransportHas() throws Exception {
        MemoryTransport t = new MemoryTransport(ByteBuffer.allocate(24).putInt(1).putInt(2).putLong(3).putLong(4).array());
        WireIn in = new WireIn(t, new BufferPool());
        assertEquals(1, in.readInt());
        in.readAhead();
        assertEquals(2, in.readInt());
        assertEquals(0, t.input.remaining(), "the rest is buffered");
        assertEquals(3, in.readLong());
        assertEquals(4, in.readLong());
        assertThrows(EOFException.class, in::readInt);
    }

    @Test
    void peekingLooksAheadOfTheNextUnreadByteAndTakesNothing() throws Exception {
        MemoryTransport t = new MemoryTransport(ByteBuffer.allocate(14).putShort((short) 5).putInt(6).putShort((short) 0xfffe)
                .putInt(8).putShort((short) 9).array());
        WireIn in = new WireIn(t, new BufferPool());
        in.readAhead();
        assertEquals(5, in.readShort());
        assertEquals(8, in.peekInt(6));
        assertEquals(0xfffe, in.peekShort(4), "unsigned, as readShort");
        assertEquals(6, in.readInt(), "nothing was taken");
    }

    @Test
    void theEndOfTheStreamInTheMiddleOfAValueIsAnEof() {
        WireIn in = new WireIn(new MemoryTransport(new byte[] {1, 2}), new BufferPool());
        assertThrows(EOFException.class, in::readInt);
    }

    @Test
    void itsBufferGoesBackToThePoolWhenTheConnectionEnds() throws Exception {
        BufferPool pool = new BufferPool();
        WireIn in = new WireIn(new MemoryTransport(new byte[] {0, 0, 0, 7}), pool);
        in.readAhead();
        assertEquals(7, in.readInt());
        assertEquals(1, pool.outstanding());
        in.release();
        assertEquals(0, pool.outstanding());
    }

    /** Hands out its bytes 16 KiB at a time and records how: 'r' a read that may wait, 't' one that may not. */
    static final class Pieces extends MemoryTransport {
        final StringBuilder calls = new StringBuilder();
        private final boolean pollsLarge;

        Pieces(byte[] input, boolean pollsLarge) {
            super(input);
            this.pollsLarge = pollsLarge;
        }

        private int piece(ByteBuffer dst, char how) {
            calls.append(how);
            int limit = dst.limit();
            dst.limit(dst.position() + Math.min(dst.remaining(), 16 * 1024));
            int n = super.read(dst);
            dst.limit(limit);
            return n;
        }

        @Override
        public int read(ByteBuffer dst) {
            return piece(dst, 'r');
        }

        @Override
        public int tryRead(ByteBuffer dst) {
            return piece(dst, 't');
        }

        @Override
        public boolean pollsLargePayloads() {
            return pollsLarge;
        }
    }

    @Test
    void theRestOfALargePayloadIsPolledForOnlyWhereTheTransportAsks() throws Exception {
        for (boolean pollsLarge : new boolean[] {true, false}) {
            Pieces t = new Pieces(stream(256 * 1024), pollsLarge);
            WireIn in = new WireIn(t, new BufferPool());
            in.readAhead();
            ByteBuffer payload = ByteBuffer.allocateDirect(256 * 1024);
            in.readFully(payload);
            assertEquals(ByteBuffer.wrap(stream(256 * 1024)), payload.flip());
            // 16 pieces; over TCP the reader sleeps for those that leave 64 KiB or more to come
            assertEquals(pollsLarge ? "t".repeat(16) : "r".repeat(13) + "ttt", t.calls.toString());
        }
    }
}
