package org.nbdosgi.plugin.file;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nbdosgi.plugin.file.FileHandleTest.allocatedBlocks;
import static org.nbdosgi.plugin.file.FileHandleTest.direct;
import static org.nbdosgi.plugin.file.FileHandleTest.extents;
import static org.nbdosgi.plugin.file.FileHandleTest.read;
import static org.nbdosgi.plugin.file.FileHandleTest.sparseFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Flags;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

/**
 * What clients get on a file system that lacks a fallocate mode, SEEK_DATA or O_DIRECT: the
 * {@link Fallbacks} are set as if the plugin had already learned it, on a file system (/tmp) that
 * would otherwise support everything, so each fallback path runs for real.
 */
class FallbackPathsTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private static FileHandle open(Path f, FileOptions options, Fallbacks fallbacks) throws IOException {
        return FileHandle.open(FileTarget.inspect(f), options, false, fallbacks, UncachedIo.bounceBuffers(), new DiskReads());
    }

    private static byte[] ones(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 1);
        return b;
    }

    /**
     * The offsets of the pages of a range that are in the page cache (mincore through a mapping,
     * which does not fault them in). Only the range: the kernel's read-ahead may cache pages after
     * a read, which cache=none does not promise to drop.
     */
    private static List<Long> residentPages(Path f, long offset, long length) throws IOException {
        List<Long> out = new ArrayList<>();
        try (FileChannel c = FileChannel.open(f, READ)) {
            for (long page = offset & -4096L; page < offset + length; page += 4096) {
                if (c.map(FileChannel.MapMode.READ_ONLY, page, 4096).isLoaded()) {
                    out.add(page);
                }
            }
        }
        return out;
    }

    @Test
    void withoutAnyFallocateZeroIsEnotsupSoTheEngineWritesZerosAndTrimDoesNothing() throws Exception {
        Path f = sparseFile(dir, 4 * MIB);
        Fallbacks none = new Fallbacks(f.toString());
        none.noPunchHole();
        none.noZeroRange();
        none.noAllocate();
        try (FileHandle h = open(f, FileOptions.DEFAULT, none)) {
            h.write(direct(ones(2 * MIB)), 0, 0);
            h.flush(0);
            long full = allocatedBlocks(f);
            for (int flags : new int[] {0, Flags.MAY_TRIM, Flags.FAST_ZERO, Flags.FAST_ZERO | Flags.MAY_TRIM | Flags.FUA}) {
                NbdException e = assertThrows(NbdException.class, () -> h.zero(0, MIB, flags), "flags " + flags);
                assertEquals(NbdError.ENOTSUP, e.error(), "ENOTSUP: the engine writes zeros, a FAST_ZERO client hears it");
            }
            assertArrayEquals(ones(2 * MIB), read(h, 0, 2 * MIB), "a refused zero leaves the data as it was");
            h.trim(0, MIB, Flags.FUA);
            assertArrayEquals(ones(MIB), read(h, 0, MIB), "trim is advisory: without PUNCH_HOLE it does nothing");
            assertEquals(full, allocatedBlocks(f));
            assertTrue(h.canTrim(), "trim stays offered: clients may always send it");
        }
    }

    @Test
    void withoutZeroRangeZeroPunchesAndAllocatesAgain() throws Exception {
        Path f = sparseFile(dir, 4 * MIB);
        Fallbacks fallbacks = new Fallbacks(f.toString());
        fallbacks.noZeroRange();
        try (FileHandle h = open(f, FileOptions.DEFAULT, fallbacks)) {
            h.write(direct(ones(2 * MIB)), 0, 0);
            h.flush(0);
            long full = allocatedBlocks(f);
            h.zero(0, MIB, Flags.FAST_ZERO);
            assertArrayEquals(new byte[MIB], read(h, 0, MIB));
            assertArrayEquals(ones(MIB), read(h, MIB, MIB));
            assertEquals(full, allocatedBlocks(f), "without MAY_TRIM the range stays allocated");
        }
    }

    @Test
    void withoutPunchHoleZeroUsesZeroRangeEvenWhenItMayTrim() throws Exception {
        Path f = sparseFile(dir, 4 * MIB);
        Fallbacks fallbacks = new Fallbacks(f.toString());
        fallbacks.noPunchHole();
        try (FileHandle h = open(f, FileOptions.DEFAULT, fallbacks)) {
            h.write(direct(ones(2 * MIB)), 0, 0);
            h.flush(0);
            long full = allocatedBlocks(f);
            h.zero(0, MIB, Flags.MAY_TRIM | Flags.FAST_ZERO);
            assertArrayEquals(new byte[MIB], read(h, 0, MIB));
            assertEquals(full, allocatedBlocks(f), "no hole: ZERO_RANGE keeps the blocks");
            h.trim(MIB, MIB, 0);
            assertArrayEquals(ones(MIB), read(h, MIB, MIB), "trim without PUNCH_HOLE does nothing");
            assertEquals(full, allocatedBlocks(f));
        }
    }

    @Test
    void withoutSeekDataEverythingIsReportedAsData() throws Exception {
        Path f = sparseFile(dir, 8 * MIB);
        Fallbacks fallbacks = new Fallbacks(f.toString());
        fallbacks.noSeekData();
        try (FileHandle h = open(f, FileOptions.DEFAULT, fallbacks)) {
            h.write(direct(ones(4096)), 4 * MIB, 0);
            assertEquals(List.of("0+8388608 data"), extents(h, 0, 8 * MIB, 0), "holes are not known, so nothing is claimed zero");
            assertEquals(List.of("4096+4096 data"), extents(h, 4096, 4096, Flags.REQ_ONE));
        }
    }

    @Test
    void withoutDirectIoCacheNoneDropsPagesAndNeedsNoAlignment() throws Exception {
        Path f = sparseFile(dir, 8 * MIB);
        FileOptions none = new FileOptions(FileOptions.Cache.NONE, FileOptions.Advice.NORMAL);
        try (FileHandle h = open(f, none, new Fallbacks(f.toString()))) {
            assertTrue(h.blockSize().minimum() >= 512, "with O_DIRECT the alignment is the minimum: " + h.blockSize());
        }
        Fallbacks fallbacks = new Fallbacks(f.toString());
        fallbacks.noDirectIo();
        try (FileHandle h = open(f, none, fallbacks)) {
            assertEquals(1, h.blockSize().minimum(), "page cache I/O takes any alignment");
            h.write(direct(ones(MIB)), MIB, 0);
            h.write(direct(new byte[] {7, 7, 7}), 1001, Flags.FUA);
            assertArrayEquals(ones(MIB), read(h, MIB, MIB));
            assertArrayEquals(new byte[] {0, 7, 7, 7, 0}, read(h, 1000, 5));
            assertEquals(List.of(), residentPages(f, MIB, MIB), "written and read pages are dropped from the page cache");
            assertEquals(List.of(), residentPages(f, 1000, 5));
        }
    }

    /**
     * A file system may accept O_DIRECT at open and refuse a request later (it wants more alignment
     * than its block size said). An alignment of 1 reproduces that on /tmp: unaligned O_DIRECT calls
     * get EINVAL from the kernel.
     */
    @Test
    void directIoRefusedAfterOpenIsRedoneThroughThePageCacheAndRemembered() throws Exception {
        Path f = sparseFile(dir, 8 * MIB);
        try (FileChannel channel = FileChannel.open(f, READ, WRITE); NativeFd fd = NativeFd.open(f, true, true)) {
            NbdException kernel = assertThrows(NbdException.class, () -> fd.writeFully(direct(new byte[3]), 1001),
                    "the test needs a file system that refuses unaligned O_DIRECT");
            Assumptions.assumeTrue(kernel.error() == NbdError.EINVAL, "unexpected refusal: " + kernel.getMessage());

            Fallbacks writes = new Fallbacks(f.toString());
            UncachedIo io = new UncachedIo(new ChannelIo(channel, f), fd, true, 1, writes, UncachedIo.bounceBuffers());
            io.write(direct(new byte[] {4, 5, 6}), 1001);
            assertFalse(writes.directIo(), "the export stops using O_DIRECT");
            ByteBuffer back = ByteBuffer.allocateDirect(5);
            io.read(back, 1000);
            assertArrayEquals(new byte[] {0, 4, 5, 6, 0}, bytes(back));

            Fallbacks reads = new Fallbacks(f.toString());
            UncachedIo reader = new UncachedIo(new ChannelIo(channel, f), fd, true, 1, reads, UncachedIo.bounceBuffers());
            ByteBuffer again = ByteBuffer.allocateDirect(3);
            reader.read(again, 1001);
            assertArrayEquals(new byte[] {4, 5, 6}, bytes(again));
            assertFalse(reads.directIo());
            assertEquals(List.of(), residentPages(f, 1000, 5), "the redone requests still leave no pages behind");
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(b.position(), out);
        return out;
    }
}
