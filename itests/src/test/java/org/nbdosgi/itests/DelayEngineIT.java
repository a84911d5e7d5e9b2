package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import javax.inject.Inject;

import java.time.Duration;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.nbdosgi.api.ConfigException;
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

/** The delay filter bundle in the real Felix: it comes and goes with its bundle, and delays what it serves. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DelayEngineIT {
    @Inject
    private ServerAdmin admin;

    @Inject
    private BundleContext context;

    @Configuration
    public Option[] config() throws Exception {
        return Distribution.bundles(Distribution.workDir("DelayEngineIT").resolve("felix.log")).toArray(new Option[0]);
    }

    @Test
    public void theFilterFollowsItsBundleAndDelaysReads() throws Exception {
        Path sock = Distribution.workDir("DelayEngineIT").resolve("delay.sock");
        Files.deleteIfExists(sock);
        admin.listenUnix(sock);
        Bundle delay = Arrays.stream(context.getBundles())
                .filter(b -> "org.nbdosgi.filter.delay".equals(b.getSymbolicName())).findFirst().orElseThrow();

        delay.stop();
        try {
            admin.addExport(ExportSpec.parse("slow", false, List.of("--filter=delay", "memory", "1M", "rdelay=50ms")));
            fail("an export with the delay filter started while its bundle was stopped");
        } catch (ConfigException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("unknown filter 'delay'"));
        }

        delay.start();
        Wait.until(Duration.ofSeconds(10), "the export with the delay filter starting (DS registers the filter asynchronously)", () -> {
            try {
                admin.addExport(ExportSpec.parse("slow", false, List.of("--filter=delay", "memory", "1M", "rdelay=50ms")));
                return true;
            } catch (ConfigException notYet) {
                return false;
            }
        });
        try (NbdClient c = NbdClient.unix(sock)) {
            c.go("slow");
            long start = System.nanoTime();
            assertEquals(512, c.read(0, 512).length);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue("a read with rdelay=50ms took " + millis + " ms", millis >= 50);
            c.disconnect();
        }
        admin.removeExport("slow");
    }
}
