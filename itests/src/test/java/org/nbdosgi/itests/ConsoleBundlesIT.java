package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.Test;

/**
 * What the console changes is as it left it after a restart: bundles installed, stopped and
 * uninstalled, logger levels; and help describes every command of the container.
 */
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

    @Test
    public void everyCommandHasADescriptionAndLogLevelsSurviveARestart() throws Exception {
        try (Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"))) {
            nbd.start();
            String help = nbd.client("help").ok().out();
            List<String> rows = help.lines().skip(1).filter(l -> l.matches("\\S+:\\S+.*")).toList();
            assertTrue("help lists Gogo's, ours and SCR's commands:\n" + help, rows.size() > 80
                    && help.contains("gogo:grep ") && help.contains("nbd:exports ") && help.contains("scr:list "));
            for (String row : rows) {
                assertTrue("a command without a one-line description: " + row, row.matches("\\S+\\s{2,}\\S.*")
                        && !row.contains("--help)") && !row.contains("no description"));
            }
            assertFalse("completion helpers are not listed:\n" + help, help.contains("__files"));

            assertTrue(nbd.client("log:set", "DEBUG", "org.nbdosgi.engine").ok().out().contains("org.nbdosgi.engine: DEBUG (kept in "));
            nbd.client("log:set", "WARN").ok();
            String levels = Files.readString(nbd.etc().resolve("org.nbdosgi.log.cfg"));
            assertTrue(levels, levels.contains("level.org.nbdosgi.engine = DEBUG") && levels.contains("level.ROOT = WARN"));
            nbd.stop();
            nbd.start();
            nbd.awaitOutput(Duration.ofSeconds(30), "DEBUG", "log:get", "org.nbdosgi.engine");
            assertTrue(nbd.client("log:get", "ROOT").out().contains("WARN"));
            nbd.client("log:set", "DEFAULT", "org.nbdosgi.engine").ok();
            nbd.client("log:set", "INFO").ok();
            assertEquals("level.ROOT = INFO", Files.readString(nbd.etc().resolve("org.nbdosgi.log.cfg")).lines()
                    .filter(l -> l.startsWith("level.")).collect(java.util.stream.Collectors.joining("\n")));
            assertTrue(nbd.client("log:get", "org.nbdosgi.engine").out().contains("INFO (from its parent)"));
        }
    }
}
