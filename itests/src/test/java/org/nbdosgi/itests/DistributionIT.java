package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import org.junit.Test;

/**
 * The release tarball as someone installs it: unpacked anywhere, bin/nbd-osgi symlinked onto PATH,
 * a real version, man pages for the server and every plugin and filter, systemd units that
 * systemd accepts.
 */
public class DistributionIT {
    private static final Duration T = Duration.ofMinutes(2);

    private static Path tarball() {
        return Distribution.home().resolveSibling("nbd-osgi-0.2.0.tar.gz");
    }

    private static Path unpacked() throws Exception {
        Path dir = Distribution.workDir("DistributionIT");
        Tools.run(T, "rm", "-rf", dir.resolve("opt").toString()).ok();
        Files.createDirectories(dir.resolve("opt"));
        Tools.run(T, "tar", "-xzf", tarball().toString(), "-C", dir.resolve("opt").toString()).ok();
        return dir.resolve("opt/nbd-osgi-0.2.0");
    }

    @Test
    public void theTarballRunsThroughASymlinkOnPath() throws Exception {
        assertTrue("mvn package makes " + tarball(), Files.isRegularFile(tarball()));
        Path home = unpacked();
        Path bin = home.getParent().resolveSibling("bin");
        Files.createDirectories(bin);
        Files.deleteIfExists(bin.resolve("nbd-osgi"));
        Files.createSymbolicLink(bin.resolve("nbd-osgi"), home.resolve("bin/nbd-osgi"));
        Map<String, String> env = Map.of("PATH", bin + ":/usr/bin:/bin");
        Tools.Result version = Tools.run(T, env, List.of("sh", "-c", "cd / && nbd-osgi --version"));
        assertEquals(version.err(), "nbd-osgi 0.2.0\n", version.out());
        Tools.Result served = Tools.run(T, env, List.of("sh", "-c", "cd / && nbd-osgi -U - memory 1G --run 'nbdinfo --size \"$uri\"'"));
        assertEquals(served.err(), "1073741824\n", served.out());
        Tools.Result config = Tools.run(T, env, List.of("sh", "-c", "nbd-osgi --dump-config"));
        assertTrue(config.out(), config.out().contains("bindir=" + home.resolve("bin") + "\n"));
        for (String p : List.of("bin/nbd-osgi", "bin/nbd-osgi-client", "lib/make-aot-cache.sh")) {
            assertTrue(p + " is executable", Files.isExecutable(home.resolve(p)));
        }
        assertTrue(Files.isDirectory(home.resolve("data")));
    }

    @Test
    public void manPagesForTheServerAndEachPluginAndFilter() throws Exception {
        Tools.require("man");
        Tools.require("col");
        Path home = unpacked();
        Path man = home.resolve("man/man1");
        Map<String, String> env = Map.of("MANWIDTH", "100", "MAN_KEEP_FORMATTING", "");
        Tools.Result server = Tools.run(T, env, List.of("sh", "-c", "man -l " + man.resolve("nbd-osgi.1") + " | col -b"));
        assertEquals(server.err(), 0, server.exit());
        for (String seen : List.of("NBD-OSGI(1)", "SYNOPSIS", "--mask-handshake=MASK", "--exit-with-parent", "-s, --single, --stdin",
                "CAPTIVE MODE", "LISTEN_FDS", "memory", "a sparse RAM disk")) {
            assertTrue(seen + " in nbd-osgi(1):\n" + server.out(), server.out().contains(seen));
        }
        Properties index = new Properties();
        try (var in = Files.newInputStream(home.resolve("lib/index.properties"))) {
            index.load(in);
        }
        List<String> layers = index.stringPropertyNames().stream().filter(k -> k.matches("(plugin|filter)\\.[^.]+\\.description"))
                .map(k -> "nbd-osgi-" + k.split("\\.")[1] + "-" + k.split("\\.")[0]).sorted().toList();
        try (Stream<Path> pages = Files.list(man)) {
            List<String> names = pages.map(p -> p.getFileName().toString()).filter(n -> !n.equals("nbd-osgi.1"))
                    .map(n -> n.replaceFirst("\\.1$", "")).sorted().toList();
            assertEquals("one page per plugin and filter", layers, names);
        }
        Tools.Result memory = Tools.run(T, env, List.of("sh", "-c", "man -l " + man.resolve("nbd-osgi-memory-plugin.1") + " | col -b"));
        for (String seen : List.of("PARAMETERS", "size=...", "allocator=...", "virtual size, e.g. 1G", "DESCRIPTION",
                "A sparse RAM disk.", "nbd-osgi -f memory 1G")) {
            assertTrue(seen + " in nbd-osgi-memory-plugin(1):\n" + memory.out(), memory.out().contains(seen));
        }
        Tools.Result delay = Tools.run(T, env, List.of("sh", "-c", "man -l " + man.resolve("nbd-osgi-delay-filter.1") + " | col -b"));
        assertTrue(delay.out(), delay.out().contains("rdelay=..., delay-read=..."));
        assertFalse("no stray markup", delay.out().contains("`"));
    }

    @Test
    public void systemdAcceptsTheServiceAndSocketUnits() throws Exception {
        Tools.require("systemd-analyze");
        Path home = unpacked();
        Path units = Distribution.workDir("DistributionIT/units");
        Files.writeString(units.resolve("nbd-osgi.socket"), Files.readString(home.resolve("lib/systemd/nbd-osgi.socket")));
        // ExecStart= names where the tarball was unpacked
        Files.writeString(units.resolve("nbd-osgi.service"), Files.readString(home.resolve("lib/systemd/nbd-osgi.service"))
                .replace("/opt/nbd-osgi/", home + "/"));
        Tools.Result r = Tools.run(T, Map.of(), List.of("systemd-analyze", "verify", "--man=no",
                units.resolve("nbd-osgi.socket").toString(), units.resolve("nbd-osgi.service").toString()));
        assertEquals(r.out() + r.err(), 0, r.exit());
    }
}
