package org.nbdosgi.plugin.vddk;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;

/**
 * A vddk export on the test stand-in libvixDiskLib (built by this module's test build): an image
 * file, a VDDK config file with the stand-in's settings, and the journal the stand-in writes.
 */
final class StandInDisk implements AutoCloseable {
    static final Path LIBDIR = Path.of(System.getProperty("vddk.standin", "target/vddk")).toAbsolutePath();

    final Path image;
    final Path facts;
    final VddkRuntime runtime = new VddkRuntime();
    final VddkInstance instance;
    final VixDiskLib lib;

    /** {@code settings}: extra stand-in config lines, e.g. {@code standin.fail=ReadAsync@100}. */
    StandInDisk(Path dir, long size, Map<String, String> params, String... settings) throws IOException, ConfigException {
        image = dir.resolve("disk.img");
        facts = dir.resolve("facts.log");
        try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(size);
        }
        Path conf = dir.resolve("vddk.conf");
        Files.writeString(conf, "standin.facts=" + facts + "\n" + String.join("\n", settings) + "\n");
        Map<String, String> all = new java.util.HashMap<>(Map.of("file", image.toString(), "libdir", LIBDIR.toString(),
                "config", conf.toString()));
        all.putAll(params);
        VddkSettings s = VddkSettings.parse(new Config(all));
        lib = runtime.acquire(s.libdir(), s.config());
        try {
            instance = new VddkInstance("test", s, runtime, lib, new VddkStats());
        } catch (ConfigException | RuntimeException e) {
            runtime.release(lib);
            throw e;
        }
    }

    VddkHandle open(long connection) throws IOException {
        return (VddkHandle) instance.open(new ClientContext("", false, "test", connection));
    }

    List<String> journal() throws IOException {
        return Files.exists(facts) ? Files.readAllLines(facts) : List.of();
    }

    /** The journal's lines that start with {@code prefix}, e.g. {@code "Close "}. */
    List<String> lines(String prefix) throws IOException {
        return journal().stream().filter(l -> l.startsWith(prefix)).toList();
    }

    /** The number after {@code key=} in a journal line. */
    static int fact(String line, String key) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b" + key + "=(\\d+)").matcher(line);
        if (!m.find()) {
            throw new AssertionError("no " + key + " in: " + line);
        }
        return Integer.parseInt(m.group(1));
    }

    /** The highest max-inflight of the handles closed so far. */
    int maxInFlight() throws IOException {
        return lines("Close ").stream().mapToInt(l -> fact(l, "max-inflight")).max().orElse(0);
    }

    @Override
    public void close() {
        instance.close();
    }
}
