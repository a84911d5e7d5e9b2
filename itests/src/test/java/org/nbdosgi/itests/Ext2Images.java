package org.nbdosgi.itests;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * ext2/3/4 images for the ext2 filter's tests, made at test time by mke2fs from a directory:
 * {@code disk.raw} (32 MiB: random data islands, holes between), {@code other.raw} (1 MiB of random
 * data) and an empty directory {@code dir}.
 */
final class Ext2Images {
    static final Duration T = Duration.ofSeconds(120);
    static final long DISK_SIZE = 32L << 20;
    /** {offset, length} of the random data in disk.raw; the rest is holes. */
    static final long[][] DATA = {{0, 300_000}, {1 << 20, 3 << 20}, {(5 << 20) + 12_345, 700_000},
            {(17 << 20) + 4096, 5 << 20}, {(31 << 20) + 100, (1 << 20) - 100}};

    private Ext2Images() {
    }

    static Path source(Path dir, long seed) throws Exception {
        Path src = dir.resolve("src");
        if (Files.exists(src)) {
            Tools.run(T, "rm", "-rf", src.toString()).ok();
        }
        Files.createDirectories(src.resolve("dir"));
        Random random = new Random(seed);
        try (RandomAccessFile f = new RandomAccessFile(src.resolve("disk.raw").toFile(), "rw")) {
            f.setLength(DISK_SIZE);
            for (long[] d : DATA) {
                byte[] b = new byte[(int) d[1]];
                random.nextBytes(b);
                f.seek(d[0]);
                f.write(b);
            }
        }
        byte[] other = new byte[1 << 20];
        random.nextBytes(other);
        Files.write(src.resolve("other.raw"), other);
        return src;
    }

    /** {@code mke2fs -t TYPE -d SRC DIR/TYPE.img 64M}. */
    static Path make(Path dir, String type, Path src) throws Exception {
        Path image = dir.resolve(type + ".img");
        Files.deleteIfExists(image);
        Tools.run(T, "mke2fs", "-q", "-F", "-t", type, "-d", src.toString(), image.toString(), "64M").ok();
        return image;
    }

    /** The file inside the image, as {@code debugfs -R 'dump PATH OUT'} extracts it. */
    static Path dump(Path image, String path, Path out) throws Exception {
        Files.deleteIfExists(out);
        Tools.run(T, "debugfs", "-R", "dump " + path + " " + out, image.toString()).ok();
        return out;
    }

    /** {@code e2fsck -fn}: fails the test with its report unless the filesystem is clean. */
    static void assertClean(Path image) throws Exception {
        Tools.Result r = Tools.run(T, "e2fsck", "-fn", image.toString());
        if (r.exit() != 0) {
            throw new AssertionError("e2fsck -fn " + image + " found problems:\n" + r.out() + r.err());
        }
    }

    /** The block status map disk.raw must have, as nbdinfo --map prints it (merged): data blocks touch random bytes. */
    static List<String> expectedMap(int blockSize) {
        boolean[] data = new boolean[(int) (DISK_SIZE / blockSize)];
        for (long[] d : DATA) {
            for (long b = d[0] / blockSize; b * blockSize < d[0] + d[1]; b++) {
                data[(int) b] = true;
            }
        }
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int b = 1; b <= data.length; b++) {
            if (b == data.length || data[b] != data[start]) {
                out.add((long) start * blockSize + " " + (long) (b - start) * blockSize + (data[start] ? " 0 data" : " 3 hole,zero"));
                start = b;
            }
        }
        return out;
    }

    /** nbdinfo --map output with adjacent lines of one type merged, as "offset length type description". */
    static List<String> map(String nbdinfoMap) {
        List<long[]> merged = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String line : nbdinfoMap.lines().map(String::trim).filter(l -> !l.isEmpty()).toList()) {
            String[] f = line.split("\\s+", 4);
            long off = Long.parseLong(f[0]);
            long len = Long.parseLong(f[1]);
            long type = Long.parseLong(f[2]);
            if (!merged.isEmpty() && merged.get(merged.size() - 1)[2] == type) {
                merged.get(merged.size() - 1)[1] += len;
            } else {
                merged.add(new long[] {off, len, type});
                names.add(f.length > 3 ? f[3] : "");
            }
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < merged.size(); i++) {
            long[] m = merged.get(i);
            out.add(m[0] + " " + m[1] + " " + m[2] + " " + names.get(i));
        }
        return out;
    }

    /** The filesystem's block size, from dumpe2fs. */
    static int blockSize(Path image) throws Exception {
        String out = Tools.run(T, "dumpe2fs", "-h", image.toString()).ok().out();
        return out.lines().filter(l -> l.startsWith("Block size:")).map(l -> Integer.parseInt(l.split(":")[1].trim()))
                .findFirst().orElseThrow();
    }
}
