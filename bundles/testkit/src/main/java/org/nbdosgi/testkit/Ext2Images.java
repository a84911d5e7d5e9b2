package org.nbdosgi.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * ext2/3/4 images for tests, made at test time by the real e2fsprogs tools (mke2fs -d) from a
 * directory: {@code disk.raw} (32 MiB, random data at {@link #DATA}, holes between), {@code other.raw}
 * (1 MiB of random data), an empty directory {@code dir} and a symlink {@code link.raw} to disk.raw;
 * and what tests check images with (debugfs, e2fsck, dumpe2fs, nbdinfo --map).
 */
public final class Ext2Images {
    public static final long DISK_SIZE = 32L << 20;
    /** {offset, length} of the random data in disk.raw; the rest is holes. */
    public static final long[][] DATA = {{0, 300_000}, {1 << 20, 3 << 20}, {(5 << 20) + 12_345, 700_000},
            {(17 << 20) + 4096, 5 << 20}, {(31 << 20) + 100, (1 << 20) - 100}};

    private Ext2Images() {
    }

    /** A fresh {@code DIR/src} with the files above, their random bytes from {@code seed}. */
    public static Path source(Path dir, long seed) throws IOException {
        Path src = dir.resolve("src");
        if (Files.exists(src)) {
            try (Stream<Path> all = Files.walk(src)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
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
        Files.createSymbolicLink(src.resolve("link.raw"), Path.of("disk.raw"));
        return src;
    }

    /** {@code mke2fs -t TYPE -d SRC DIR/TYPE.img 64M}. */
    public static Path make(Path dir, String type, Path src) throws IOException, InterruptedException {
        return make(dir, type, src, "64M");
    }

    /** {@code mke2fs -t TYPE -d SRC [EXTRA...] DIR/TYPE.img SIZE}. */
    public static Path make(Path dir, String type, Path src, String size, String... extra) throws IOException, InterruptedException {
        Path image = dir.resolve(type + ".img");
        Files.deleteIfExists(image);
        List<String> cmd = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", type, "-d", src.toString()));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of(image.toString(), size));
        run(cmd, false);
        return image;
    }

    /** The file at {@code path} inside the image, as {@code debugfs -R 'dump PATH OUT'} extracts it (OUT in {@code dir}). */
    public static byte[] dump(Path image, String path, Path dir) throws IOException, InterruptedException {
        Path out = dir.resolve("dump-" + System.nanoTime());
        run(List.of("debugfs", "-R", "dump " + path + " " + out, image.toString()), false);
        byte[] b = Files.readAllBytes(out);
        Files.delete(out);
        return b;
    }

    /** {@code e2fsck -fn}: its report when it finds problems, null when the filesystem is clean. */
    public static String fsckProblems(Path image) throws IOException, InterruptedException {
        Result r = run(List.of("e2fsck", "-fn", image.toString()), true);
        return r.status == 0 ? null : r.output;
    }

    /** {@code e2fsck -fn}: fails the test with its report unless the filesystem is clean. */
    public static void assertClean(Path image) throws IOException, InterruptedException {
        String problems = fsckProblems(image);
        if (problems != null) {
            throw new AssertionError("e2fsck -fn " + image + " found problems:\n" + problems);
        }
    }

    /** {@code debugfs -w -R REQUEST}: its output. */
    public static String debugfs(Path image, String request) throws IOException, InterruptedException {
        return run(List.of("debugfs", "-w", "-R", request, image.toString()), false).output;
    }

    /** {@code debugfs -R REQUEST}, read-only: its output. */
    public static String query(Path image, String request) throws IOException, InterruptedException {
        return run(List.of("debugfs", "-R", request, image.toString()), false).output;
    }

    /** The filesystem's block size, from dumpe2fs. */
    public static int blockSize(Path image) throws IOException, InterruptedException {
        return run(List.of("dumpe2fs", "-h", image.toString()), false).output.lines().filter(l -> l.startsWith("Block size:"))
                .map(l -> Integer.parseInt(l.split(":")[1].trim())).findFirst().orElseThrow();
    }

    /** The block status map disk.raw must have, as nbdinfo --map prints it (merged): data blocks touch random bytes. */
    public static List<String> expectedMap(int blockSize) {
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
    public static List<String> map(String nbdinfoMap) {
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

    private record Result(int status, String output) {
    }

    private static Result run(List<String> cmd, boolean mayFail) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd + " timed out");
        }
        if (p.exitValue() != 0 && !mayFail) {
            throw new IOException(cmd + " failed with " + p.exitValue() + ":\n" + out);
        }
        return new Result(p.exitValue(), out);
    }
}
