package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

/**
 * The cache filter in Felix with dirty blocks in writeback mode while the export is rewired or a
 * bundle is updated under a connected client: nothing acknowledged is lost.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CacheEngineIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    private static Path sock;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("CacheEngineIT").resolve("felix.log")).toArray(new Option[0]);
    }

    private Path listen() throws Exception {
        if (sock == null) {
            sock = Distribution.workDir("CacheEngineIT").resolve("nbd.sock");
            Files.deleteIfExists(sock);
            admin.listenUnix(sock);
        }
        return sock;
    }

    @Test
    public void updatingThePluginBelowADirtyCacheKeepsEveryByte() throws Exception {
        admin.addExport(ExportSpec.parse("below", false, List.of("--filter=cache", "memory", "64M")));
        byte[] data = Exam.random(1, 6 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("below");
            c.write(12345, data, 0);                            // dirty in the cache, not flushed
            Exam.bundle(context, "org.nbdosgi.plugin.memory").update();
            Exam.awaitRunning(admin, "below");
            assertArrayEquals(data, c.read(12345, data.length));
        }
        admin.removeExport("below");
    }

    @Test
    public void updatingTheCacheBundleKeepsEveryByte() throws Exception {
        admin.addExport(ExportSpec.parse("self", false, List.of("--filter=cache", "memory", "64M", "cache=unsafe")));
        byte[] data = Exam.random(2, 3 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("self");
            c.write(7, data, 0);
            Exam.bundle(context, "org.nbdosgi.filter.cache").update();
            Exam.awaitRunning(admin, "self");
            assertArrayEquals(data, c.read(7, data.length));
        }
        admin.removeExport("self");
    }

    @Test
    public void removingTheCacheFilterWritesItsDirtyBlocksBack() throws Exception {
        admin.addExport(ExportSpec.parse("rewired", false, List.of("--filter=cache", "memory", "64M")));
        byte[] data = Exam.random(3, 2 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("rewired");
            c.write(4096, data, 0);
            admin.rewire("rewired", ExportSpec.parse("rewired", false, List.of("memory", "64M")), true);
            Exam.awaitRunning(admin, "rewired");
        }
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("rewired");
            assertArrayEquals("the memory plugin alone has the data", data, c.read(4096, data.length));
        }
        admin.removeExport("rewired");
    }

    /** The new plugin would shrink the disk under the client: refused, and the old plugin comes back with its data. */
    @Test
    public void aRefusedPluginSwapKeepsTheOldPluginsData() throws Exception {
        Path small = Distribution.workDir("CacheEngineIT").resolve("small.img");
        Files.deleteIfExists(small);
        try (RandomAccessFile f = new RandomAccessFile(small.toFile(), "rw")) {
            f.setLength(32 << 20);
        }
        admin.addExport(ExportSpec.parse("swap", false, List.of("--filter=cache", "memory", "64M")));
        byte[] data = Exam.random(4, 1 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("swap");
            c.write(1 << 20, data, 0);                      // dirty in the cache, not flushed
            ConfigException refused = assertThrows(ConfigException.class,
                    () -> admin.rewire("swap", ExportSpec.parse("swap", false, List.of("--filter=cache", "file", small.toString())), false));
            assertTrue(refused.getMessage(), refused.getMessage().contains("was promised size 67108864"));
            assertEquals("memory", admin.export("swap").spec().plugin());
            assertArrayEquals("the memory disk came back with what the cache wrote into it", data, c.read(1 << 20, data.length));
        }
        admin.removeExport("swap");
    }
}
