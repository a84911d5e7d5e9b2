package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Hashtable;
import java.util.List;

import javax.inject.Inject;

import java.time.Duration;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ExportState;
import org.nbdosgi.api.admin.LayerInfo;
import org.nbdosgi.api.admin.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/**
 * The cache filter in Felix with dirty blocks in writeback mode while the export is rewired or a
 * bundle is updated under a connected client: nothing acknowledged is lost. And a rewire above a
 * warm cache leaves it warm.
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

    /**
     * 64 MiB read through the cache over a slow layer (delay rdelay=50ms over the test plugin, which
     * counts the reads reaching it); a stats filter inserted above the cache and removed again
     * rebuilds only itself, so reading the 64 MiB again, on the same connection and on a new one,
     * is served from the cache: no read reaches the plugin.
     */
    @Test
    public void aWarmCacheStaysWarmWhenAFilterIsInsertedAboveItAndRemovedAgain() throws Exception {
        TestPlugin plugin = new TestPlugin();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(Plugin.NAME_PROPERTY, "test");
        ServiceRegistration<Plugin> registration = context.registerService(Plugin.class, plugin, props);
        List<String> chain = List.of("--filter=cache", "--filter=delay", "test", "64M", "rdelay=50ms", "cache-on-read=true");
        List<String> withStats = new java.util.ArrayList<>(List.of("--filter=stats"));
        withStats.addAll(chain);
        try {
            admin.addExport(ExportSpec.parse("warm", false, chain));
            long missed;
            try (NbdClient c = NbdClient.unix(listen())) {
                c.go("warm");
                readAll(c);
                missed = readsBelow(plugin);
                assertTrue("the first pass reads from below", missed > 0);

                admin.rewire("warm", ExportSpec.parse("warm", false, withStats), false);
                assertEquals(List.of("stats", "cache", "delay", "test"), layers("warm"));
                readAll(c);
                assertEquals("reads after inserting stats above the cache are hits", missed, readsBelow(plugin));

                admin.rewire("warm", ExportSpec.parse("warm", false, chain), false);
                readAll(c);
                assertEquals("and after removing it again", missed, readsBelow(plugin));
            }
            try (NbdClient c = NbdClient.unix(listen())) {
                c.go("warm");
                readAll(c);
                assertEquals("a new client gets hits too", missed, readsBelow(plugin));
            }
        } finally {
            admin.removeExport("warm");
            registration.unregister();
        }
    }

    private static void readAll(NbdClient c) throws Exception {
        for (long at = 0; at < (64 << 20); at += 8 << 20) {
            assertEquals(8 << 20, c.read(at, 8 << 20).length);
        }
    }

    private static long readsBelow(TestPlugin plugin) {
        return plugin.calls.stream().filter(s -> s.startsWith("read ")).count();
    }

    private List<String> layers(String export) {
        return admin.export(export).layers().stream().map(LayerInfo::name).toList();
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
