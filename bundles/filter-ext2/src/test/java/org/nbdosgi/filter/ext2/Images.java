package org.nbdosgi.filter.ext2;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Filesystem images for tests, made by the real e2fsprogs tools from a directory of files with holes. */
final class Images {
    /** Where the random data of {@code disk.raw} is: every other stretch is a hole. */
    static final long[][] DATA = {{0, 300_000}, {1 << 20, 3 << 20}, {(5 << 20) + 12_345, 700_000}, {(17 << 20) + 4096, 5 << 20},
            {(31 << 20) + 100, (1 << 20) - 100}};
    static final long DISK_SIZE = 32L << 20;

    private Images() {
    }

    /**
     * A source directory with {@code disk.raw} (32 MiB, random data in {@link #DATA}, holes between),
     * {@code other.raw} (1 MiB of random data), an empty directory {@code dir} and a symlink.
     */
    static Path source(Path dir, long seed) throws IOException {
        Path src = Files.createDirectories(dir.resolve("src"));
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
        Files.createDirectories(src.resolve("dir"));
        Files.createSymbolicLink(src.resolve("link.raw"), Path.of("disk.raw"));
        return src;
    }

    /** {@code mke2fs -t TYPE -d SRC IMAGE SIZE} (extra options before the image). */
    static Path make(Path dir, String type, Path src, String size, String... extra) throws IOException, InterruptedException {
        Path image = dir.resolve(type + ".img");
        List<String> cmd = new ArrayList<>(List.of("mke2fs", "-q", "-F", "-t", type, "-d", src.toString()));
        cmd.addAll(List.of(extra));
        cmd.addAll(List.of(image.toString(), size));
        run(cmd);
        return image;
    }

    /** The file at {@code path} inside the image, as debugfs dumps it. */
    static byte[] dump(Path image, String path, Path dir) throws IOException, InterruptedException {
        Path out = dir.resolve("dump-" + System.nanoTime());
        run(List.of("debugfs", "-R", "dump " + path + " " + out, image.toString()));
        byte[] b = Files.readAllBytes(out);
        Files.delete(out);
        return b;
    }

    /** {@code e2fsck -fn}: its exit status is 0 when the filesystem is clean. */
    static String fsckProblems(Path image) throws IOException, InterruptedException {
        Result r = run(List.of("e2fsck", "-fn", image.toString()), true);
        return r.status == 0 ? null : r.output;
    }

    /** {@code debugfs -w -R REQUEST}. */
    static String debugfs(Path image, String request) throws IOException, InterruptedException {
        return run(List.of("debugfs", "-w", "-R", request, image.toString())).output;
    }

    record Result(int status, String output) {
    }

    static Result run(List<String> cmd) throws IOException, InterruptedException {
        return run(cmd, false);
    }

    private static Result run(List<String> cmd, boolean mayFail) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd + " timed out");
        }
        if (p.exitValue() != 0 && !mayFail) {
            throw new IOException(cmd + " failed with " + p.exitValue() + ":\n" + out);
        }
        return new Result(p.exitValue(), out);
    }
}
