package org.nbdosgi.plugin.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.ExportEntry;
import org.nbdosgi.api.Handle;
import org.nbdosgi.api.NbdException;
import org.nbdosgi.api.PluginInstance;

/** Parameters, start-up checks and the directory mode, through the plugin's public face. */
class FilePluginTest {
    @TempDir
    Path dir;

    private final FilePlugin plugin = new FilePlugin();

    private PluginInstance create(boolean readOnly, String... kv) throws ConfigException {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return plugin.create(new Config(m), new ExportContext("", readOnly));
    }

    private String refusal(String... kv) {
        return assertThrows(ConfigException.class, () -> create(false, kv)).getMessage();
    }

    private static ClientContext client(String name) {
        return new ClientContext(name, false, "test", 1);
    }

    private Path file(String name, long size) throws Exception {
        Path f = dir.resolve(name);
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size);
        }
        return f;
    }

    @Test
    void badParametersAreOneClearLine() throws Exception {
        Path f = file("a.img", 4096);
        assertEquals("give file=PATH or dir=DIRECTORY", refusal());
        assertEquals("give file= or dir=, not both", refusal("file", f.toString(), "dir", dir.toString()));
        assertEquals(dir.resolve("missing") + ": no such file or directory", refusal("file", dir.resolve("missing").toString()));
        assertEquals(dir + ": is a directory (dir= serves the files in one)", refusal("file", dir.toString()));
        assertEquals("/dev/null: is not a regular file or block device", refusal("file", "/dev/null"));
        assertEquals(f + ": is not a directory", refusal("dir", f.toString()));
        assertEquals("cache: 'some' is not one of default|none", refusal("file", f.toString(), "cache", "some"));
        assertEquals("fadvise: 'often' is not one of normal|random|sequential",
                refusal("file", f.toString(), "fadvise", "often"));
        for (String m : List.of(refusal(), refusal("file", dir.toString()))) {
            assertFalse(m.contains("\n"), "one line: " + m);
        }
    }

    @Test
    void everyCacheAndFadviseValueServesTheFile() throws Exception {
        Path f = file("a.img", 1 << 20);
        for (String cache : List.of("default", "none")) {
            for (String advice : List.of("normal", "random", "sequential")) {
                try (PluginInstance i = create(false, "file", f.toString(), "cache", cache, "fadvise", advice);
                     Handle h = i.open(client(""))) {
                    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(4096).put(0, (byte) advice.length()).limit(4096);
                    h.write(b, 8192, 0);
                    java.nio.ByteBuffer back = java.nio.ByteBuffer.allocateDirect(4096);
                    h.read(back, 8192, 0);
                    assertEquals(advice.length(), back.get(0), cache + "/" + advice);
                }
            }
        }
    }

    @Test
    void unreadableFileIsPermissionDenied() throws Exception {
        Path f;
        if ("root".equals(System.getProperty("user.name"))) {
            // root reads any file, but procfs holds root to the owner bits: this one is write-only
            f = Path.of("/proc/sys/vm/drop_caches");
        } else {
            f = file("secret.img", 4096);
            Files.setPosixFilePermissions(f, java.util.Set.of());
        }
        assertEquals(f + ": permission denied", refusal("file", f.toString()));
    }

    @Test
    void readOnlyExportGivesReadOnlyHandles() throws Exception {
        Path f = file("a.img", 1 << 20);
        try (PluginInstance i = create(true, "file", f.toString()); Handle h = i.open(client(""))) {
            assertFalse(h.canWrite());
        }
        try (PluginInstance i = create(false, "file", f.toString()); Handle h = i.open(client("whatever the client asks"))) {
            assertTrue(h.canWrite());
            assertEquals(1 << 20, h.size());
        }
    }

    @Test
    void directoryListsAndServesItsFilesOnly() throws Exception {
        file("b.img", 8192);
        file("a.img", 4096);
        Files.createDirectory(dir.resolve("sub"));
        Files.createSymbolicLink(dir.resolve("link.img"), dir.resolve("b.img"));
        Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nowhere"));
        new ProcessBuilder("mkfifo", dir.resolve("fifo").toString()).start().waitFor();
        try (PluginInstance i = create(false, "dir", dir.toString())) {
            assertEquals(List.of("a.img", "b.img", "link.img"), i.listExports(false).stream().map(ExportEntry::name).toList());
            try (Handle h = i.open(client("link.img"))) {
                assertEquals(8192, h.size());
            }
            file("c.img", 512);                                        // appears without a restart
            try (Handle h = i.open(client("c.img"))) {
                assertEquals(512, h.size());
            }
            for (String bad : List.of("", "..", ".", "../" + dir.getFileName() + "/a.img", "sub", "fifo", "missing", "a.img/x")) {
                assertThrows(NbdException.class, () -> i.open(client(bad)).close(), "must refuse '" + bad + "'");
            }
        }
    }
}
