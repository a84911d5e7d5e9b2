package org.nbdosgi.itests;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.Test;

/** Bundles installed, stopped and uninstalled from the console are as the console left them after a restart. */
public class ConsoleBundlesIT {
    @Test
    public void aBundleInstalledFromTheConsoleSurvivesARestart() throws Exception {
        try (Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"))) {
            Path jar = nbd.home().resolve("filter-delay.jar");
            Files.move(nbd.bundles().resolve("filter-delay.jar"), jar);          // not one the launcher installs
            nbd.start();
            assertFalse(nbd.client("nbd:filters").out().contains("delay"));
            assertTrue(nbd.client("bundle:install", "-s", jar.toString()).ok().out().contains("started"));
            nbd.awaitOutput(Duration.ofSeconds(10), "delay", "nbd:filters");

            nbd.stop();
            nbd.start();
            nbd.awaitOutput(Duration.ofSeconds(30), "delay", "nbd:filters");
            assertTrue(nbd.client("bundle:list", "-s", "delay").out().contains("active"));

            nbd.client("bundle:stop", "org.nbdosgi.filter.delay").ok();
            nbd.stop();
            nbd.start();
            nbd.awaitOutput(Duration.ofSeconds(30), "org.nbdosgi.filter.delay", "bundle:list", "-s", "delay");
            assertFalse("installed again, but not started:\n" + nbd.client("bundle:list", "-s", "delay").out(),
                    nbd.client("bundle:list", "-s", "delay").out().contains("active"));
            assertFalse(nbd.client("nbd:filters").out().contains("delay"));

            nbd.client("bundle:uninstall", "org.nbdosgi.filter.delay").ok();
            nbd.stop();
            nbd.start();
            assertFalse(nbd.client("bundle:list", "-s").out().contains("org.nbdosgi.filter.delay"));
        }
    }
}
