package org.nbdosgi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProbingTest {
    private static final Index.Entry MEMORY = new Index.Entry(Index.Kind.PLUGIN, "memory", "a sparse RAM disk",
            List.of(new Index.Param("size", "virtual size", true, false, List.of())), "size", "Examples:\n  nbd-osgi memory 1G",
            "0.2.0", "bundles/plugin-memory.jar", "# memory plugin\n\n`nbd-osgi memory [size=]SIZE`\n\nA RAM disk.\n",
            Map.of("has_pread", "1", "thread_model", "parallel"));
    private static final Index.Entry DELAY = new Index.Entry(Index.Kind.FILTER, "delay", "delays requests",
            List.of(new Index.Param("rdelay", "delay of each read", false, false, List.of("delay-read")),
                    new Index.Param("tag", "a label, each one given kept", false, true, List.of())), null, "", "0.2.0",
            "bundles/filter-delay.jar", "", Map.of());

    private static final Probing.Lookup LOOKUP = new Probing.Lookup() {
        @Override
        public Index.Entry plugin(String name) {
            return name.equals("memory") ? MEMORY : null;
        }

        @Override
        public Index.Entry filter(String name) {
            return name.equals("delay") ? DELAY : null;
        }
    };

    private static String answer(String... args) throws Exception {
        return Probing.answer(CommandLine.parse(List.of(args)), LOOKUP, Path.of("/opt/nbd-osgi"));
    }

    @Test
    public void answersInNbdkitsPrecedenceAndFormats() throws Exception {
        assertTrue(answer("--dump-config", "--help").startsWith("binary=/opt/nbd-osgi/bin/nbd-osgi\n"));
        assertTrue(answer("--help", "--version").startsWith("usage: nbd-osgi"));
        assertEquals("nbd-osgi " + Probing.version() + "\ndelay 0.2.0\nmemory 0.2.0\n", answer("--version", "--filter=delay", "memory"));
        String help = answer("--filter=delay", "memory", "--help");
        assertTrue(help.startsWith("filter delay: delays requests\n  rdelay=..."), help);
        assertTrue(help.contains("(also: delay-read)"), help);
        assertTrue(help.contains("a label, each one given kept (repeatable)\n"), help);
        assertTrue(help.contains("plugin memory: a sparse RAM disk\n  [size=]...                   virtual size (required)\n"), help);
        String dump = answer("memory", "--dump-plugin");
        assertTrue(dump.startsWith("path=/opt/nbd-osgi/bundles/plugin-memory.jar\nname=memory\n"), dump);
        assertTrue(dump.contains("\nmagic_config_key=size\n") && dump.contains("\nhas_pread=1\n"), dump);
        assertFalse(Probing.version().contains("SNAPSHOT"));
    }

    @Test
    public void whatTheLookupDoesNotKnowIsMissingAndDumpPluginNeedsAPlugin() {
        Probing.Missing m = assertThrows(Probing.Missing.class, () -> answer("--version", "--filter=nosuch", "memory"));
        assertEquals(Index.Kind.FILTER, m.kind());
        assertEquals("nosuch", m.name());
        assertThrows(Probing.Missing.class, () -> answer("nosuch", "--help"));
        assertThrows(CommandLine.UsageException.class, () -> answer("--dump-plugin"));
    }

    @Test
    public void theIndexFileKeepsEverythingAndNoTimestamp(@TempDir Path dir) throws Exception {
        Index index = new Index();
        index.add(MEMORY);
        index.add(DELAY);
        Path file = dir.resolve(Index.FILE);
        index.store(file);
        Index back = Index.load(file);
        assertEquals(MEMORY, back.plugin("memory"));
        assertEquals(DELAY, back.filter("delay"));
        String first = Files.readString(file);
        index.store(file);
        assertEquals(first, Files.readString(file), "the same bundles give the same file");
    }

    @Test
    public void readmesBecomeManMacros() {
        String roff = ManPages.roff("""
                Intro with `code` and **bold**.

                ## What clients see

                | parameter | meaning |
                |---|---|
                | `size=SIZE` | the size |

                ```
                nbd-osgi memory 1G
                ```
                - a point
                """);
        assertTrue(roff.contains(".PP\nIntro with \\fBcode\\fR and \\fBbold\\fR.\n"), roff);
        assertTrue(roff.contains(".SH WHAT CLIENTS SEE\n"), roff);
        assertTrue(roff.contains(".TP\n\\fBsize=SIZE\\fR\nthe size\n"), roff);
        assertFalse(roff.contains("parameter"), "the header row is dropped: " + roff);
        assertTrue(roff.contains(".nf\nnbd\\-osgi memory 1G\n.fi\n"), roff);
        assertTrue(roff.contains(".IP \\(bu 2\na point\n"), roff);
        String page = ManPages.layerPage(MEMORY);
        assertTrue(page.contains(".SH SYNOPSIS\n.nf\nnbd\\-osgi memory [size=]SIZE\n.fi\n"), page);
        assertTrue(page.contains(".TP\n\\fBsize=\\fR...\nvirtual size (the \\fBsize=\\fR may be left out). Required.\n"), page);
    }
}
