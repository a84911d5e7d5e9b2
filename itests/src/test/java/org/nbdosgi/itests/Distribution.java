package org.nbdosgi.itests;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.frameworkStartLevel;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.ops4j.pax.exam.Option;

/**
 * Where the assembled distribution is (runtime/target/nbd-osgi) and how Pax Exam boots the same
 * bundles it ships: logging first (SPI Fly, slf4j, Logback with its nbd-osgi fragment) so no bundle
 * ever gets the NOP logger, then the rest of system/, then our bundles. (Not system/shell/: the
 * terminal and SSH consoles are tested on the real distribution.)
 */
public final class Distribution {
    private Distribution() {
    }

    public static Path home() {
        return Path.of(System.getProperty("nbd.runtime", "../runtime/target/nbd-osgi")).toAbsolutePath().normalize();
    }

    /** The test kit bundle (waiting, RAM disks, ext2 images), for the tests that run inside Felix. */
    static Path testkit() {
        return Path.of(System.getProperty("nbd.testkit", "../bundles/testkit/target/testkit-0.1.0-SNAPSHOT.jar")).toAbsolutePath().normalize();
    }

    /** A fresh directory for one test's files, under target/work. */
    public static Path workDir(String name) throws IOException {
        Path dir = Path.of(System.getProperty("nbd.work", "target/work")).toAbsolutePath().resolve(name);
        Files.createDirectories(dir);
        return dir;
    }

    /**
     * The Pax Exam options that boot the distribution's bundles.
     *
     * @param logFile where the log goes (so a test can read it)
     * @param extra   more jars from bundles/ or deploy-style locations, started last
     */
    public static List<Option> bundles(Path logFile, Path... extra) throws IOException {
        List<Option> options = new ArrayList<>();
        options.add(systemProperty("pax.exam.logging").value("none"));
        options.add(systemProperty("nbd.log.file").value(logFile.toString()));
        options.add(systemProperty("nbd.log.level").value("debug"));
        options.add(frameworkStartLevel(10));
        for (Path jar : jars(home().resolve("system"))) {
            String name = jar.getFileName().toString();
            boolean logging = name.startsWith("asm") || name.startsWith("org.apache.aries.spifly")
                    || name.startsWith("slf4j") || name.startsWith("logback") || name.startsWith("logging");
            boolean fragment = name.startsWith("logging");   // of logback-classic: installed, never started
            options.add(fragment ? bundle(jar.toUri().toString()).startLevel(1).noStart()
                    : bundle(jar.toUri().toString()).startLevel(logging ? 1 : 2).start());
        }
        for (Path jar : jars(home().resolve("bundles"))) {
            options.add(bundle(jar.toUri().toString()).startLevel(3).start());
        }
        options.add(bundle(testkit().toUri().toString()).startLevel(3).start());
        for (Path jar : extra) {
            options.add(bundle(jar.toUri().toString()).startLevel(4).start());
        }
        options.add(junitBundles());
        return options;
    }

    private static List<Path> jars(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".jar")).sorted((a, b) -> {
                // SPI Fly, then slf4j-api, then Logback with its fragment: the launcher's order
                return Integer.compare(rank(a), rank(b)) != 0 ? Integer.compare(rank(a), rank(b)) : a.compareTo(b);
            }).toList();
        }
    }

    private static int rank(Path p) {
        String n = p.getFileName().toString();
        if (n.startsWith("asm")) {
            return 0;
        }
        if (n.startsWith("org.apache.aries.spifly")) {
            return 1;
        }
        if (n.startsWith("slf4j-api")) {
            return 2;
        }
        if (n.startsWith("logback-core") || n.startsWith("logging")) {
            return 3;
        }
        if (n.startsWith("logback-classic")) {
            return 4;
        }
        return 5;
    }
}
