package org.nbdosgi.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ExportSpec;
import org.nbdosgi.api.ServerAdmin;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** The real bundles in Felix: an export created through the admin service serves I/O over NBD. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class EngineIT {
    @Inject
    private ServerAdmin admin;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("EngineIT").resolve("felix.log")).toArray(new Option[0]);
    }

    @Test
    public void memoryExportRoundTripsDataAndLogsReachTheLog() throws Exception {
        Path dir = Distribution.workDir("EngineIT");
        Path sock = dir.resolve("engine.sock");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        admin.addExport(ExportSpec.parse("disk", false, List.of("memory", "64M")));

        byte[] data = new byte[1 << 20];
        new Random(1).nextBytes(data);
        try (NbdClient c = NbdClient.unix(sock)) {
            c.structuredReplies();
            c.go("disk");
            assertEquals(64L << 20, c.size);
            c.write(4096, data, NbdClient.FLAG_FUA);
            c.flush();
            assertArrayEquals(data, c.read(4096, data.length));
            c.disconnect();
        }
        String log = Files.readString(dir.resolve("felix.log"));
        assertTrue("the engine's log line reaches slf4j-simple's log:\n" + log, log.contains("export 'disk' started: memory 64M"));
        admin.removeExport("disk");
    }
}
