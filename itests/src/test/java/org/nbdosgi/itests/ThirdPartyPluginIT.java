package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/**
 * A plugin written outside the source tree, as a third party would: the sample's own pom.xml (parent
 * org.nbdosgi:plugin-parent, dependency org.nbdosgi:api) built by Maven in a directory of its own,
 * with the parent and the api taken from the distribution's sdk/repository; the jar dropped into
 * deploy/ and served, and described by --help and --dump-plugin (through the framework: the build's
 * index does not know it).
 */
public class ThirdPartyPluginIT {
    private static final Duration T = Duration.ofMinutes(5);

    @Test
    public void aPluginBuiltWithItsOwnPomIsServedFromDeploy() throws Exception {
        Tools.require("mvn");
        Path work = Files.createTempDirectory("nbd-osgi-third-party");        // outside the source tree
        try {
            Path source = work.resolve("pattern");
            Tools.run(T, "cp", "-r", Distribution.home().resolve("sdk/sample-plugin").toString(), source.toString()).ok();
            Path settings = work.resolve("settings.xml");
            // the SDK repository of the distribution for org.nbdosgi, this machine's Maven cache for the rest (offline)
            String cache = System.getProperty("org.ops4j.pax.url.mvn.localRepository", System.getProperty("user.home") + "/.m2/repository");
            Files.writeString(settings, """
                    <settings>
                      <mirrors><mirror><id>cache</id><mirrorOf>*,!nbd-osgi-sdk</mirrorOf><url>file://%s</url></mirror></mirrors>
                      <profiles><profile><id>sdk</id><repositories><repository><id>nbd-osgi-sdk</id><url>file://%s</url>
                        <snapshots><enabled>true</enabled></snapshots></repository></repositories></profile></profiles>
                      <activeProfiles><activeProfile>sdk</activeProfile></activeProfiles>
                    </settings>
                    """.formatted(cache, Distribution.home().resolve("sdk/repository")));
            Tools.Result build = Tools.run(T, Map.of("JAVA_HOME", System.getProperty("java.home")), List.of("sh", "-c",
                    "cd " + source + " && mvn -B -q -s " + settings + " -Dmaven.repo.local=" + work.resolve("repository") + " package"));
            assertEquals(build.out() + build.err(), 0, build.exit());
            Path jar = source.resolve("target/plugin-pattern-1.0.0.jar");
            assertTrue(Files.isRegularFile(jar));

            Path home = work.resolve("nbd-osgi");
            Tools.run(T, "cp", "-a", Distribution.home().toString(), home.toString()).ok();
            Files.copy(jar, home.resolve("deploy/plugin-pattern-1.0.0.jar"));
            String launcher = home.resolve("bin/nbd-osgi").toString();
            Tools.Result served = Tools.run(T, Map.of(), List.of(launcher, "-U", "-", "pattern", "1M", "text=hello",
                    "--run", "nbdinfo --size \"$uri\"; nbdcopy \"$uri\" - | head -c 12"));
            assertEquals(served.err(), "1048576\nhellohellohe", served.out());

            Tools.Result help = Tools.run(T, Map.of(), List.of(launcher, "pattern", "--help"));
            assertEquals(help.err(), 0, help.exit());
            assertTrue(help.out(), help.out().contains("plugin pattern: a read-only disk whose bytes repeat a text"));
            assertTrue(help.out(), help.out().contains("text=..."));
            Tools.Result dump = Tools.run(T, Map.of(), List.of(launcher, "pattern", "--dump-plugin"));
            assertTrue(dump.out(), dump.out().contains("path=" + home.resolve("deploy/plugin-pattern-1.0.0.jar")));
            assertTrue(dump.out(), dump.out().contains("version=1.0.0\n") && dump.out().contains("has_pread=1\n"));
        } finally {
            Tools.run(T, "rm", "-rf", work.toString());
        }
    }
}
