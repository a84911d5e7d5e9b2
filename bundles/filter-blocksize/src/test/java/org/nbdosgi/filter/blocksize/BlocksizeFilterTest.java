package org.nbdosgi.filter.blocksize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Extents;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.Layer;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.Support;

class BlocksizeFilterTest {
    private static final ClientContext CLIENT = new ClientContext("", false, "test", 1);

    /**
     * A disk that insists on its limits: every request must be aligned to {@code min} and at most
     * {@code max} (data) or {@code maxLen} (the rest) long, or it is recorded as a violation. Reads
     * and writes yield in the middle, so an unprotected read-modify-write would lose bytes.
     */
    static final class StrictDisk implements Layer, Handle {
        final byte[] disk;
        final int min;
        final int max;
        final long maxLen;
        final Support fua;
        final List<String> violations = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger flushes = new AtomicInteger();
        final AtomicInteger fuaWrites = new AtomicInteger();

        StrictDisk(int size, int min, int max, long maxLen, Support fua) {
            this.disk = new byte[size];
            this.min = min;
            this.max = max;
            this.maxLen = maxLen;
            this.fua = fua;
        }

        private void check(String op, long offset, long length, long limit) {
            if (offset % min != 0 || length % min != 0 || length > limit || length == 0) {
                violations.add(op + " " + offset + "+" + length);
            }
        }

        public Handle open(ClientContext client) {
            return this;
        }

        public List<ExportEntry> listExports(boolean readOnly) {
            return List.of();
        }

        public String defaultExport() {
            return "";
        }

        public long size() {
            return disk.length;
        }

        public BlockSize blockSize() {
            return new BlockSize(min, Math.max(512, min), max);
        }

        public boolean canWrite() {
            return true;
        }

        public boolean canFlush() {
            return true;
        }

        public boolean canTrim() {
            return true;
        }

        public Support canZero() {
            return Support.NATIVE;
        }

        public Support canFua() {
            return fua;
        }

        public boolean canExtents() {
            return true;
        }

        public Support canCache() {
            return Support.NATIVE;
        }

        public void read(ByteBuffer buf, long offset, int flags) {
            check("read", offset, buf.remaining(), max);
            byte[] copy = new byte[buf.remaining()];
            synchronized (disk) {
                System.arraycopy(disk, (int) offset, copy, 0, copy.length);
            }
            Thread.yield();
            buf.duplicate().put(copy);
        }

        public void write(ByteBuffer buf, long offset, int flags) {
            check("write", offset, buf.remaining(), max);
            if (Flags.has(flags, Flags.FUA)) {
                fuaWrites.incrementAndGet();
            }
            Thread.yield();
            synchronized (disk) {
                buf.duplicate().get(disk, (int) offset, buf.remaining());
            }
        }

        public void flush(int flags) {
            flushes.incrementAndGet();
        }

        public void trim(long offset, long length, int flags) {
            check("trim", offset, length, maxLen);
        }

        public void zero(long offset, long length, int flags) {
            check("zero", offset, length, maxLen);
            synchronized (disk) {
                java.util.Arrays.fill(disk, (int) offset, (int) (offset + length), (byte) 0);
            }
        }

        public void cache(long offset, long length, int flags) {
            check("cache", offset, length, maxLen);
        }

        public void extents(long offset, long length, int flags, Extents extents) throws IOException {
            check("extents", offset, length, maxLen);
            extents.add(offset, length, 0);
        }
    }

    static Handle open(Layer below, String... kv) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : kv) {
            m.put(s.substring(0, s.indexOf('=')), s.substring(s.indexOf('=') + 1));
        }
        return new BlocksizeFilter().create(new Config(m), new ExportContext("", false), below).open(CLIENT);
    }

    static ByteBuffer direct(byte[] b) {
        return ByteBuffer.allocateDirect(b.length).put(b).flip();
    }

    @Test
    void anyRequestReachesTheDiskAlignedAndSplitAndReadsBackAsWritten() throws Exception {
        StrictDisk disk = new StrictDisk(1 << 20, 512, 64 * 1024, 1 << 30, Support.NATIVE);
        Handle h = open(disk, "maxdata=16K", "maxlen=32K");
        byte[] model = new byte[1 << 20];
        Random r = new Random(7);
        for (int i = 0; i < 2000; i++) {
            int off = r.nextInt(model.length - 1);
            int len = 1 + r.nextInt(Math.min(model.length - off, 100_000));
            switch (r.nextInt(4)) {
                case 0 -> {
                    byte[] data = new byte[len];
                    r.nextBytes(data);
                    h.write(direct(data), off, 0);
                    System.arraycopy(data, 0, model, off, len);
                }
                case 1 -> {
                    h.zero(off, len, 0);
                    java.util.Arrays.fill(model, off, off + len, (byte) 0);
                }
                case 2 -> h.trim(off, len, 0);
                default -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(len);
                    h.read(b, off, 0);
                    byte[] got = new byte[len];
                    b.get(got);
                    assertArrayEquals(java.util.Arrays.copyOfRange(model, off, off + len), got, "read " + off + "+" + len);
                }
            }
        }
        h.cache(1, 100_000, 0);
        Extents e = new Extents(3, 1 << 20);
        h.extents(3, 70_000, 0, e);
        assertEquals(3, e.offset(0));
        assertEquals(List.of(), disk.violations);
    }

    @Test
    void concurrentUnalignedWritesInOneBlockLoseNoByte() throws Exception {
        StrictDisk disk = new StrictDisk(64 * 1024, 4096, 65536, 1 << 30, Support.NATIVE);
        Handle h = open(disk);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            int writer = t;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < 16; i++) {                 // 16 writers x 16 bytes, all in block 0
                        h.write(direct(new byte[] {(byte) (writer + 1)}), writer * 16 + i, 0);
                    }
                    h.write(direct(new byte[4096]), 8192, 0);     // aligned writes run beside them
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        for (int b = 0; b < 256; b++) {
            assertEquals(b / 16 + 1, disk.disk[b], "byte " + b);
        }
        assertEquals(List.of(), disk.violations);
    }

    @Test
    void theSizeIsRoundedDownAndClientsMaySendAnything() throws Exception {
        StrictDisk disk = new StrictDisk(10_000, 512, 65536, 1 << 30, Support.NATIVE);
        Handle h = open(disk, "minblock=4K");
        assertEquals(8192, h.size());
        assertEquals(new BlockSize(1, 4096, BlockSize.MAX_PAYLOAD), h.blockSize());
    }

    @Test
    void fuaTheDiskEmulatesIsOneFlushAfterAllThePieces() throws Exception {
        StrictDisk disk = new StrictDisk(1 << 20, 512, 4096, 1 << 30, Support.EMULATE);
        Handle h = open(disk);
        h.write(direct(new byte[10_000]), 100, Flags.FUA);
        assertEquals(1, disk.flushes.get());
        assertEquals(0, disk.fuaWrites.get());
        StrictDisk nativeFua = new StrictDisk(1 << 20, 512, 4096, 1 << 30, Support.NATIVE);
        open(nativeFua).write(direct(new byte[10_000]), 100, Flags.FUA);
        assertEquals(0, nativeFua.flushes.get());
        assertEquals(5, nativeFua.fuaWrites.get(), "head, 4K, 4K, 1K, tail: every piece carries FUA");
    }

    @Test
    void anUnalignedFastZeroIsRefusedAtOnce() throws Exception {
        StrictDisk disk = new StrictDisk(1 << 20, 512, 65536, 1 << 30, Support.NATIVE);
        Handle h = open(disk);
        NbdException e = assertThrows(NbdException.class, () -> h.zero(100, 4096, Flags.FAST_ZERO));
        assertEquals(NbdError.ENOTSUP, e.error());
        h.zero(512, 4096, Flags.FAST_ZERO);
        assertEquals(List.of(), disk.violations);
    }

    @Test
    void badLimitsAreOneLine() {
        StrictDisk disk = new StrictDisk(4096, 1, 4096, 4096, Support.NATIVE);
        assertEquals("minblock: must be a power of 2 up to 64K: 3000",
                assertThrows(ConfigException.class, () -> open(disk, "minblock=3000")).getMessage());
        assertEquals("maxdata: must be a multiple of minblock (512): 1000",
                assertThrows(ConfigException.class, () -> open(disk, "minblock=512", "maxdata=1000")).getMessage());
        assertEquals("maxlen: must not be 0",
                assertThrows(ConfigException.class, () -> open(disk, "maxlen=0")).getMessage());
        assertEquals("maxdata: at most 64M (the largest request a client may send): 134217728",
                assertThrows(ConfigException.class, () -> open(disk, "maxdata=128M")).getMessage());
    }
}
