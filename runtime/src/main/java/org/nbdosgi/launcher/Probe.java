package org.nbdosgi.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;

import org.nbdosgi.cli.CommandLine;
import org.nbdosgi.cli.Index;
import org.nbdosgi.cli.Probing;

/**
 * Answers probing command lines ({@code --version}, {@code --help}, {@code --dump-config},
 * {@code PLUGIN --dump-plugin}) from {@code lib/index.properties}, without starting the framework:
 * tools probe before every use, and a JVM with Felix takes a second where this takes a few tens of
 * milliseconds. A plugin or filter the index does not know, or one a jar in {@code deploy/} may
 * provide (which may be newer than the shipped one), is left to the framework: same answer, slower.
 */
final class Probe {
    /** A DS component property naming a plugin or filter, as bnd writes it. */
    private static final Pattern NAME = Pattern.compile("<property\\s+name=\"nbd\\.name\"[^>]*\\svalue=\"([^\"]+)\"");

    private Probe() {
    }

    /** The answer, or empty when the framework must give it. */
    static Optional<String> answer(CommandLine cl, Path home) throws CommandLine.UsageException {
        Path file = home.resolve("lib").resolve(Index.FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            Index index = Index.load(file);
            Set<String> deployed = deployedNames(home.resolve("deploy"));
            Probing.Lookup lookup = new Probing.Lookup() {
                @Override
                public Index.Entry plugin(String name) {
                    return deployed.contains(name) || deployed.contains("*") ? null : index.plugin(name);
                }

                @Override
                public Index.Entry filter(String name) {
                    return deployed.contains(name) || deployed.contains("*") ? null : index.filter(name);
                }
            };
            return Optional.of(Probing.answer(cl, lookup, home));
        } catch (Probing.Missing | IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The plugin and filter names the jars in {@code deploy/} declare in their component
     * descriptions; "*" when a jar registers services some other way (no Service-Component).
     */
    private static Set<String> deployedNames(Path deploy) throws IOException {
        Set<String> names = new HashSet<>();
        if (!Files.isDirectory(deploy)) {
            return names;
        }
        List<Path> jars;
        try (Stream<Path> s = Files.list(deploy)) {
            jars = s.filter(p -> p.toString().endsWith(".jar")).toList();
        }
        for (Path jar : jars) {
            try (JarFile j = new JarFile(jar.toFile())) {
                String components = j.getManifest() == null ? null : j.getManifest().getMainAttributes().getValue("Service-Component");
                if (components == null) {
                    names.add("*");
                    continue;
                }
                for (String xml : components.split(",")) {
                    ZipEntry e = j.getEntry(xml.trim());
                    if (e == null) {
                        names.add("*");                          // a wildcard path: let the framework read it
                        continue;
                    }
                    Matcher m = NAME.matcher(new String(j.getInputStream(e).readAllBytes(), StandardCharsets.UTF_8));
                    while (m.find()) {
                        names.add(m.group(1));
                    }
                }
            } catch (IOException e) {
                names.add("*");
            }
        }
        return names;
    }
}
