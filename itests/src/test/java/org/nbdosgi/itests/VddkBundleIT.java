package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Random;

import javax.inject.Inject;

import java.time.Duration;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.Plugin;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.nbdosgi.testkit.Wait;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * The vddk bundle in a real Felix: exports through the admin service, the {@code nbd:vddk-stats}
 * Gogo command, and a bundle update after which a new export re-initialises VDDK (InitEx/Exit
 * balanced, as the stand-in library's journal shows).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class VddkBundleIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    @Inject
    private CommandProcessor commands;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("VddkBundleIT").resolve("felix.log")).toArray(new Option[0]);
    }

    @Test
    public void statsCommandAndBundleUpdateReinitialiseVddk() throws Exception {
        Path dir = Distribution.workDir("VddkBundleIT");
        Path sock = listen(dir);
        Path img = emptyDisk(dir);
        Path conf = VddkInteropIT.config(dir);
        List<String> args = List.of("vddk", "file=" + img, "libdir=" + VddkInteropIT.standInLibdir(), "config=" + conf);

        admin.addExport(ExportSpec.parse("vd", false, args));
        roundTrip(sock, "vd", 1);
        String stats = gogo("nbd:vddk-stats vd");
        assertTrue(stats, stats.contains("export vd:"));
        assertTrue(stats, stats.lines().anyMatch(l -> l.startsWith("VixDiskLib_WriteAsync ")));
        assertTrue(stats, stats.lines().anyMatch(l -> l.startsWith("VixDiskLib_ReadAsync ")));
        String unknown = gogo("nbd:vddk-stats nosuch");
        assertTrue(unknown, unknown.contains("no running vddk export named 'nosuch' (vddk exports: vd)"));
        admin.removeExport("vd");
        assertTrue(gogo("nbd:vddk-stats"), gogo("nbd:vddk-stats").contains("no vddk export is running"));

        Bundle vddk = Arrays.stream(context.getBundles()).filter(b -> b.getSymbolicName().equals("org.nbdosgi.plugin.vddk"))
                .findFirst().orElseThrow();
        Plugin before = context.getService(vddkPlugin());
        vddk.update();                                         // the same jar again: a new class loader
        awaitNewPlugin(before);

        admin.addExport(ExportSpec.parse("vd2", false, args));
        roundTrip(sock, "vd2", 2);
        assertTrue(gogo("nbd:vddk-stats vd2").contains("VixDiskLib_ReadAsync"));
        admin.removeExport("vd2");

        List<String> j = VddkInteropIT.journal(dir);
        List<String> lifecycle = j.stream().filter(l -> l.startsWith("InitEx") || l.startsWith("Exit")).map(l -> l.split(" ")[0]).toList();
        assertEquals(j.toString(), List.of("InitEx", "Exit", "InitEx", "Exit"), lifecycle);
        assertTrue(j.toString(), j.stream().noneMatch(l -> l.contains("not-initialized") || l.contains("again")));
        List<String> closes = VddkInteropIT.lines(dir, "Close ");
        assertEquals("each export's extents probe, size probe (at chain build) and client handle: " + j, 6, closes.size());
        for (String l : closes) {
            assertEquals(l, 0, VddkInteropIT.fact(l, "two-threads"));
            assertEquals(l, 0, VddkInteropIT.fact(l, "open-close-overlap"));
        }
    }

    /**
     * A filter inserted above a vddk export with a client connected, and removed again, rebuilds
     * only itself: the plugin keeps its instance and the client's VDDK connection and handle, so the
     * stand-in library sees no new ConnectEx or Open, and the client's I/O goes on.
     */
    @Test
    public void insertingAFilterAboveAVddkExportOpensNoNewVddkConnection() throws Exception {
        Path dir = Distribution.workDir("VddkBundleIT/keep");
        Path sock = listen(dir);
        Path img = emptyDisk(dir);
        List<String> vddk = List.of("vddk", "file=" + img, "libdir=" + VddkInteropIT.standInLibdir(),
                "config=" + VddkInteropIT.config(dir));
        admin.addExport(ExportSpec.parse("kept", false, vddk));
        try (NbdClient c = NbdClient.unix(sock)) {
            c.structuredReplies();
            c.go("kept");
            byte[] data = new byte[65536];
            new Random(3).nextBytes(data);
            c.write(0, data, 0);
            int connects = VddkInteropIT.lines(dir, "ConnectEx ").size();
            int opens = VddkInteropIT.lines(dir, "Open ").size();

            List<String> withStats = new java.util.ArrayList<>(List.of("--filter=stats"));
            withStats.addAll(vddk);
            admin.rewire("kept", ExportSpec.parse("kept", false, withStats), false);
            assertArrayEquals(data, c.read(0, data.length));
            c.write(65536, data, NbdClient.FLAG_FUA);
            admin.rewire("kept", ExportSpec.parse("kept", false, vddk), false);
            assertArrayEquals(data, c.read(65536, data.length));

            List<String> j = VddkInteropIT.journal(dir);
            assertEquals("no new VDDK connection: " + j, connects, VddkInteropIT.lines(dir, "ConnectEx ").size());
            assertEquals("no new VDDK handle: " + j, opens, VddkInteropIT.lines(dir, "Open ").size());
            c.disconnect();
        } finally {
            admin.removeExport("kept");
        }
    }

    /** The server also listens on DIR/vddk.sock. */
    private Path listen(Path dir) throws Exception {
        Path sock = dir.resolve("vddk.sock");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        return sock;
    }

    /** A fresh sparse 8 MiB DIR/disk.img. */
    private static Path emptyDisk(Path dir) throws Exception {
        Path img = dir.resolve("disk.img");
        Files.deleteIfExists(img);
        try (RandomAccessFile f = new RandomAccessFile(img.toFile(), "rw")) {
            f.setLength(8L << 20);
        }
        return img;
    }

    private ServiceReference<Plugin> vddkPlugin() throws Exception {
        Collection<ServiceReference<Plugin>> refs = context.getServiceReferences(Plugin.class, "(" + Plugin.NAME_PROPERTY + "=vddk)");
        return refs.isEmpty() ? null : refs.iterator().next();
    }

    private void awaitNewPlugin(Plugin before) throws Exception {
        Plugin[] now = new Plugin[1];
        Wait.until(Duration.ofSeconds(20), "the vddk plugin coming back after the bundle update", () -> {
            ServiceReference<Plugin> ref = vddkPlugin();
            now[0] = ref == null ? null : context.getService(ref);
            return now[0] != null && now[0] != before;
        });
        assertNotEquals("a new class loader", before.getClass().getClassLoader(), now[0].getClass().getClassLoader());
    }

    private static void roundTrip(Path sock, String export, long seed) throws Exception {
        byte[] data = new byte[256 * 1024];
        new Random(seed).nextBytes(data);
        try (NbdClient c = NbdClient.unix(sock)) {
            c.structuredReplies();
            c.go(export);
            assertEquals(8L << 20, c.size);
            c.write(65536, data, NbdClient.FLAG_FUA);
            c.flush();
            assertArrayEquals(data, c.read(65536, data.length));
            c.disconnect();
        }
    }

    private String gogo(String command) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        CommandSession session = commands.createSession(new ByteArrayInputStream(new byte[0]), ps, ps);
        try {
            session.execute(command);
        } finally {
            session.close();
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
