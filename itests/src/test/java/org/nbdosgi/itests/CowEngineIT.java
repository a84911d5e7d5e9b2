package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
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
import org.nbdosgi.api.admin.ExportSpec;
import org.nbdosgi.api.admin.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

/**
 * The cow filter in Felix while its bundle is updated or the export is rewired under a connected
 * client: the session's writes survive whatever keeps the filter, and only removing it drops them.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CowEngineIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    private static Path sock;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("CowEngineIT").resolve("felix.log")).toArray(new Option[0]);
    }

    private Path listen() throws Exception {
        if (sock == null) {
            sock = Distribution.workDir("CowEngineIT").resolve("nbd.sock");
            Files.deleteIfExists(sock);
            admin.listenUnix(sock);
        }
        return sock;
    }

    @Test
    public void updatingTheCowBundleKeepsTheSessionsWrites() throws Exception {
        admin.addExport(ExportSpec.parse("update", false, List.of("--filter=cow", "memory", "64M")));
        byte[] data = Exam.random(1, 3 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("update");
            c.write(12345, data, 0);
            Exam.bundle(context, "org.nbdosgi.filter.cow").update();
            Exam.awaitRunning(admin, "update");
            assertArrayEquals(data, c.read(12345, data.length));
        }
        admin.removeExport("update");
    }

    @Test
    public void insertingAFilterKeepsTheOverlayAndRemovingCowDropsIt() throws Exception {
        admin.addExport(ExportSpec.parse("rewired", false, List.of("--filter=cow", "memory", "64M")));
        byte[] data = Exam.random(2, 1 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("rewired");
            c.write(4096, data, 0);
            admin.rewire("rewired", ExportSpec.parse("rewired", false, List.of("--filter=delay", "--filter=cow", "memory", "64M")), false);
            Exam.awaitRunning(admin, "rewired");
            assertArrayEquals("the overlay passed to the new chain's cow filter", data, c.read(4096, data.length));
            admin.rewire("rewired", ExportSpec.parse("rewired", false, List.of("memory", "64M")), true);
            Exam.awaitRunning(admin, "rewired");
        }
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("rewired");
            assertArrayEquals("the memory plugin below was never written", new byte[data.length], c.read(4096, data.length));
        }
        admin.removeExport("rewired");
    }

    /** The new chain's cow filter cannot use the overlay (another size): the change is refused and the old overlay comes back. */
    @Test
    public void aRefusedRewireBringsTheOverlayBack() throws Exception {
        Path small = Distribution.workDir("CowEngineIT").resolve("small.img");
        Files.deleteIfExists(small);
        try (RandomAccessFile f = new RandomAccessFile(small.toFile(), "rw")) {
            f.setLength(32 << 20);
        }
        admin.addExport(ExportSpec.parse("refused", false, List.of("--filter=cow", "memory", "64M")));
        byte[] data = Exam.random(3, 1 << 20);
        try (NbdClient c = NbdClient.unix(listen())) {
            c.go("refused");
            c.write(1 << 20, data, 0);
            ConfigException refused = assertThrows(ConfigException.class, () -> admin.rewire("refused",
                    ExportSpec.parse("refused", false, List.of("--filter=cow", "file", small.toString())), false));
            assertTrue(refused.getMessage(), refused.getMessage().contains("was promised size 67108864"));
            assertArrayEquals("the old overlay came back", data, c.read(1 << 20, data.length));
        }
        admin.removeExport("refused");
    }
}
