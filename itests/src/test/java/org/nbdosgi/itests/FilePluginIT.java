package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.admin.ExportInfo;
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * The file plugin bundle in Felix, with JNA from system/: exports made through the admin service
 * (as the console and configuration files make them) serve files, and bad ones fail with the message.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class FilePluginIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("FilePluginIT").resolve("felix.log")).toArray(new Option[0]);
    }

    @Test
    public void namedDirExportServesFilesUnderItsName() throws Exception {
        Path dir = Distribution.workDir("FilePluginIT");
        Path images = dir.resolve("images");
        Files.createDirectories(images);
        byte[] a = new byte[64 * 1024];
        new java.util.Random(3).nextBytes(a);
        Files.write(images.resolve("a.img"), a);
        Files.write(images.resolve("b.img"), new byte[8192]);
        Path sock = dir.resolve("pe.sock");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        admin.addExport(ExportSpec.parse("files", false, List.of("file", "dir=" + images)));
        try {
            try (NbdClient c = NbdClient.unix(sock)) {
                assertEquals(List.of("files/a.img", "files/b.img"), c.list());
            }
            try (NbdClient c = NbdClient.unix(sock)) {
                c.structuredReplies();
                c.go("files/a.img");
                assertEquals(a.length, c.size);
                assertArrayEquals(a, c.read(0, a.length));
                c.write(100, new byte[] {1, 2, 3}, NbdClient.FLAG_FUA);
                c.disconnect();
            }
            byte[] now = Files.readAllBytes(images.resolve("a.img"));
            assertArrayEquals(new byte[] {1, 2, 3}, java.util.Arrays.copyOfRange(now, 100, 103));
        } finally {
            admin.removeExport("files");
        }
    }

    @Test
    public void missingFileFailsTheExportWithTheReason() throws Exception {
        Path missing = Distribution.workDir("FilePluginIT").resolve("nothing-here.img");
        try {
            ExportInfo info = admin.addExport(ExportSpec.parse("broken", false, List.of("file", missing.toString())));
            admin.removeExport("broken");
            fail("export started: " + info);
        } catch (ConfigException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(missing + ": no such file or directory"));
        }
    }

    @Test
    public void updatingThePluginBundleKeepsTheExportServing() throws Exception {
        Path dir = Distribution.workDir("FilePluginIT");
        Path img = dir.resolve("swap.img");
        Files.write(img, new byte[1 << 20]);
        Path sock = dir.resolve("swap.sock");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        admin.addExport(ExportSpec.parse("swap", false, List.of("file", img.toString())));
        try {
            try (NbdClient c = NbdClient.unix(sock)) {
                c.structuredReplies();
                c.go("swap");
                c.write(4096, new byte[] {9, 8, 7}, 0);
                Bundle file = java.util.Arrays.stream(context.getBundles())
                        .filter(b -> "org.nbdosgi.plugin.file".equals(b.getSymbolicName())).findFirst().orElseThrow();
                file.update();                                       // a new class loader, JNA bound again
                assertArrayEquals("the connection carries on with the new bundle", new byte[] {9, 8, 7}, c.read(4096, 3));
                c.write(8192, new byte[] {1}, NbdClient.FLAG_FUA);
                c.disconnect();
            }
            byte[] now = Files.readAllBytes(img);
            assertEquals(1, now[8192]);
        } finally {
            admin.removeExport("swap");
        }
    }
}
