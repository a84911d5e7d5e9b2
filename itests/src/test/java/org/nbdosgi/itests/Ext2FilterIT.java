package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.inject.Inject;

import java.time.Duration;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.testkit.Ext2Images;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The ext2 filter bundle of the distribution in a real Felix, over images made by mke2fs, driven by
 * real clients (nbdcopy, qemu-img, nbdinfo, nbdsh) and checked with debugfs and e2fsck. The layer
 * below is {@link ImageFilePlugin}, registered by the test: a sparse-aware image file, so that a
 * filter passing the image's extents through would make nbdcopy and qemu-img copy holes.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class Ext2FilterIT {
    private static final Duration T = Duration.ofSeconds(120);

    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    private final List<String> exports = new ArrayList<>();
    private ServiceRegistration<Plugin> imageFile;
    private Path socket;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("Ext2FilterIT").resolve("felix.log")).toArray(new Option[0]);
    }

    /** A fresh work directory, a socket listening in it, and the image-file layer registered. */
    private Path start(String test) throws Exception {
        Path dir = Distribution.workDir("Ext2FilterIT/" + test);
        socket = dir.resolve("nbd.sock");
        Files.deleteIfExists(socket);
        admin.listenUnix(socket);
        imageFile = context.registerService(Plugin.class, new ImageFilePlugin(),
                new Hashtable<>(java.util.Map.of(Plugin.NAME_PROPERTY, ImageFilePlugin.NAME)));
        return dir;
    }

    @After
    public void stop() throws Exception {
        for (String name : exports) {
            admin.removeExport(name);
        }
        if (imageFile != null) {
            imageFile.unregister();
        }
    }

    private void export(String name, boolean readOnly, String... args) throws ConfigException {
        admin.addExport(ExportSpec.parse(name, readOnly, List.of(args)), name.isEmpty());
        exports.add(name);
    }

    /** Closes the export: the filter flushes and closes the filesystem. */
    private void unexport(String name) throws ConfigException {
        admin.removeExport(name);
        exports.remove(name);
    }

    private String uri(String name) {
        return "nbd+unix:///" + name + "?socket=" + socket;
    }

    @Test
    public void copiesByNbdcopyAndQemuImgEqualTheInnerFileOfEveryExtType() throws Exception {
        Path dir = start("copies");
        Path src = Ext2Images.source(dir, 1);
        for (String type : List.of("ext2", "ext3", "ext4")) {
            Path image = Ext2Images.make(dir, type, src);
            String name = "copy-" + type;
            export(name, false, "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=/disk.raw");

            Path byNbdcopy = dir.resolve(type + "-nbdcopy.raw");
            Tools.run(T, "nbdcopy", uri(name), byNbdcopy.toString()).ok();
            assertEquals(type + ": nbdcopy's copy differs at", -1, Files.mismatch(src.resolve("disk.raw"), byNbdcopy));

            Path byQemu = dir.resolve(type + "-qemu.raw");
            Tools.run(T, "qemu-img", "convert", "-f", "raw", "-O", "raw", uri(name), byQemu.toString()).ok();
            assertEquals(type + ": qemu-img's copy differs at", -1, Files.mismatch(src.resolve("disk.raw"), byQemu));

            String map = Tools.run(T, "nbdinfo", "--map", uri(name)).ok().out();
            assertEquals(type + ": block status describes the inner file's holes",
                    Ext2Images.expectedMap(Ext2Images.blockSize(image)), Ext2Images.map(map));
            unexport(name);
        }
    }

    @Test
    public void writesLandInTheFileAndTheFilesystemStaysClean() throws Exception {
        Path dir = start("writes");
        Path src = Ext2Images.source(dir, 2);
        for (String type : List.of("ext2", "ext3", "ext4")) {
            Path image = Ext2Images.make(dir, type, src);
            byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
            String name = "write-" + type;
            export(name, false, "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=/disk.raw");
            // over data, across data into a hole, inside a hole, the last bytes; then flush
            Tools.nbdsh(uri(name), String.join("\n",
                    "h.pwrite(b'\\x11' * 65536, 1048576)",
                    "h.pwrite(b'\\x22' * 1048576, 5 * 1048576 + 12000)",
                    "h.pwrite(b'\\x33' * (3 * 1048576 + 5), 8 * 1048576 + 1000)",
                    "h.pwrite(b'\\x44' * 777, 32 * 1048576 - 777)",
                    "h.flush()")).ok();
            fill(expected, 1 << 20, 65536, 0x11);
            fill(expected, (5 << 20) + 12000, 1 << 20, 0x22);
            fill(expected, (8 << 20) + 1000, (3 << 20) + 5, 0x33);
            fill(expected, (32 << 20) - 777, 777, 0x44);
            Ext2Images.assertClean(image);          // flushed: consistent while the export still runs

            Path back = dir.resolve(type + "-back.raw");
            Tools.run(T, "nbdcopy", uri(name), back.toString()).ok();
            assertArrayEquals(expected, Files.readAllBytes(back));
            unexport(name);
            assertArrayEquals(type + ": debugfs finds the written bytes in the file", expected,
                    Ext2Images.dump(image, "/disk.raw", dir));
            Ext2Images.assertClean(image);
        }
    }

    @Test
    public void twoClientsAtOnceOneReadingOneWritingBothCorrect() throws Exception {
        Path dir = start("parallel");
        Path src = Ext2Images.source(dir, 3);
        Path image = Ext2Images.make(dir, "ext4", src);
        byte[] expected = Files.readAllBytes(src.resolve("disk.raw"));
        export("par", false, "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=/disk.raw");
        int half = (int) (Ext2Images.DISK_SIZE / 2);
        try (NbdClient reader = NbdClient.unix(socket); NbdClient writer = NbdClient.unix(socket);
             ExecutorService pool = Executors.newFixedThreadPool(2)) {
            reader.structuredReplies();
            reader.go("par");
            writer.structuredReplies();
            writer.go("par");
            Future<?> reads = pool.submit(() -> {
                for (int round = 0; round < 3; round++) {
                    for (int at = 0; at < half; at += 1 << 20) {
                        assertArrayEquals("read at " + at, Arrays.copyOfRange(expected, at, at + (1 << 20)), reader.read(at, 1 << 20));
                    }
                }
                return null;
            });
            Future<?> writes = pool.submit(() -> {
                Random random = new Random(3);
                for (int at = half; at < 2 * half; at += 256 * 1024) {
                    byte[] data = new byte[256 * 1024];
                    random.nextBytes(data);
                    writer.write(at, data, 0);
                    System.arraycopy(data, 0, expected, at, data.length);    // the second half: the reader never looks
                }
                writer.flush();
                return null;
            });
            reads.get();
            writes.get();
            assertArrayEquals(Arrays.copyOfRange(expected, half, 2 * half), reader.read(half, half));
        }
        unexport("par");
        assertArrayEquals(expected, Ext2Images.dump(image, "/disk.raw", dir));
        Ext2Images.assertClean(image);
    }

    @Test
    public void exportnameModeServesEachClientTheFileItNames() throws Exception {
        Path dir = start("exportname");
        Path src = Ext2Images.source(dir, 4);
        Path image = Ext2Images.make(dir, "ext4", src);
        export("", false, "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=exportname");
        try (NbdClient disk = NbdClient.unix(socket); NbdClient other = NbdClient.unix(socket)) {
            disk.structuredReplies();
            disk.go("/disk.raw");
            other.structuredReplies();
            other.go("/other.raw");
            assertEquals(Ext2Images.DISK_SIZE, disk.size);
            assertEquals(1 << 20, other.size);
            byte[] otherBytes = Files.readAllBytes(src.resolve("other.raw"));
            assertArrayEquals(otherBytes, other.read(0, 1 << 20));
            assertArrayEquals(Arrays.copyOfRange(Files.readAllBytes(src.resolve("disk.raw")), 1 << 20, 2 << 20),
                    disk.read(1 << 20, 1 << 20));

            assertRefused("/dir/../disk.raw", "'..' is not allowed");
            assertRefused("/missing.raw", "/missing.raw: no such file in the filesystem");
            assertRefused("/dir", "/dir: not a regular file");
            try (NbdClient relative = NbdClient.unix(socket)) {
                relative.go("other.raw");
                assertEquals("a name without a leading / gets one, as nbdkit does", 1 << 20, relative.size);
                assertArrayEquals(otherBytes, relative.read(0, 1 << 20));
            }

            assertArrayEquals("refused clients disturb nobody", otherBytes, other.read(0, 1 << 20));
            Path copy = dir.resolve("other-copy.raw");
            Tools.run(T, "nbdcopy", "nbd+unix:////other.raw?socket=" + socket, copy.toString()).ok();
            assertArrayEquals(otherBytes, Files.readAllBytes(copy));
        }
    }

    /** The client is refused with a plain message; the reason is in the log. */
    private void assertRefused(String exportName, String logged) throws IOException {
        try (NbdClient c = NbdClient.unix(socket)) {
            c.structuredReplies();
            c.go(exportName);
            fail("'" + exportName + "' should be refused");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().endsWith("export '" + exportName + "' cannot be opened: Invalid argument"));
        }
        String log = Files.readString(Distribution.workDir("Ext2FilterIT").resolve("felix.log"));
        assertTrue(log, log.lines().anyMatch(l -> l.contains("export '" + exportName + "' refused") && l.contains(logged)));
    }

    @Test
    public void readOnlyExportsLeaveTheImageUntouched() throws Exception {
        Path dir = start("readonly");
        Path src = Ext2Images.source(dir, 5);
        Path image = Ext2Images.make(dir, "ext4", src);
        byte[] before = sha256(image);
        export("ro", true, "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=/disk.raw");
        String info = Tools.run(T, "nbdinfo", uri("ro")).ok().out();
        assertTrue(info, info.contains("is_read_only: true"));
        Tools.Result write = Tools.nbdsh(uri("ro"), "h.pwrite(b'x' * 512, 0)");
        assertNotEquals("a write to a read-only export fails", 0, write.exit());
        Path copy = dir.resolve("copy.raw");
        Tools.run(T, "nbdcopy", uri("ro"), copy.toString()).ok();
        assertEquals(-1, Files.mismatch(src.resolve("disk.raw"), copy));
        unexport("ro");
        assertArrayEquals("not one byte of the image changed", before, sha256(image));
    }

    @Test
    public void brokenImagesAndMissingFilesAreRefusedWithOneClearLine() throws Exception {
        Path dir = start("broken");
        Path zeros = dir.resolve("zeros.img");
        Files.deleteIfExists(zeros);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(zeros.toFile(), "rw")) {
            f.setLength(16 << 20);
        }
        assertStartFails("ext2: cannot open the filesystem: Bad magic number in super-block",
                "--filter=ext2", ImageFilePlugin.NAME, zeros.toString(), "ext2file=/disk.raw");
        Path image = Ext2Images.make(dir, "ext4", Ext2Images.source(dir, 6));
        assertStartFails("ext2: ext2file: /nope.raw: no such file in the filesystem",
                "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=/nope.raw");
        assertStartFails("ext2: ext2file: /dir: not a regular file",
                "--filter=ext2", ImageFilePlugin.NAME, image.toString(), "ext2file=/dir");
        Ext2Images.assertClean(image);
    }

    private void assertStartFails(String message, String... args) {
        try {
            export("broken", false, args);
            fail("the export should not start");
        } catch (ConfigException e) {
            assertEquals(message, e.getMessage());
        }
    }

    private static void fill(byte[] b, long offset, long length, int value) {
        Arrays.fill(b, (int) offset, (int) (offset + length), (byte) value);
    }

    private static byte[] sha256(Path file) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    }
}
