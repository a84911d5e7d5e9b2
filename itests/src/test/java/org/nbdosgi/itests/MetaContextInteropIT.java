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
 * Meta contexts negotiated with real clients: what nbdinfo lists, the spec's query rules through
 * libnbd (nbdsh), several contexts in one block status reply, and qemu:allocation-depth from the
 * cache filter read with nbdinfo --map.
 */
public class MetaContextInteropIT {
    private static final Duration T = Duration.ofSeconds(120);

    private static ServerProcess cacheOverMemory(String test) throws Exception {
        Path dir = Distribution.workDir("metacontext/" + test);
        Files.createDirectories(dir.resolve("tmp"));
        return ServerProcess.unix(dir, Map.of("TMPDIR", dir.resolve("tmp").toString()), "--filter=cache", "memory", "64M");
    }

    private static List<String> mapLines(String map) {
        return map.lines().map(l -> l.trim().replaceAll("\\s+", " ")).filter(l -> !l.isEmpty()).toList();
    }

    @Test
    public void nbdinfoListsTheContextsOfTheChain() throws Exception {
        try (ServerProcess s = cacheOverMemory("list")) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("contexts:\n\t\tbase:allocation\n\t\tqemu:allocation-depth\n"));
        }
        Path dir = Distribution.workDir("metacontext/plain");
        try (ServerProcess s = ServerProcess.unix(dir, "memory", "1M")) {
            String info = Tools.run(T, "nbdinfo", s.uri()).ok().out();
            assertTrue(info, info.contains("contexts:\n\t\tbase:allocation\n\tis_rotational"));
        }
    }

    @Test
    public void listAndSetFollowTheQueryRulesAndBlockStatusAnswersEveryContextSelected() throws Exception {
        try (ServerProcess s = cacheOverMemory("rules")) {
            String out = Tools.run(T, Map.of(), List.of("nbdsh", "-c", String.join("\n",
                    "h.set_opt_mode(True)",
                    "h.connect_uri('" + s.uri() + "')",
                    "def listed(*queries):",
                    "    seen = []",
                    "    h.clear_meta_contexts()",
                    "    for q in queries: h.add_meta_context(q)",
                    "    h.opt_list_meta_context(lambda name: seen.append(name) or 0)",
                    "    return seen",
                    "print('all', listed())",
                    "print('qemu', listed('qemu:'))",
                    "print('base', listed('base:'))",
                    "print('unknown', listed('x-nothing:at-all', 'base:frobnicate'))",
                    "h.clear_meta_contexts()",
                    "for q in ('qemu:', 'qemu:allocation-depth', 'base:allocation', 'x-nothing:at-all'): h.add_meta_context(q)",
                    "h.opt_go()",
                    "print('selected', h.can_meta_context('qemu:allocation-depth'), h.can_meta_context('base:allocation'))",
                    "h.pwrite(b'x' * 65536, 0)",
                    "found = {}",
                    "def got(context, offset, entries, err):",
                    "    found[context] = list(entries)",
                    "    return 0",
                    "h.block_status(1 << 20, 0, got)",
                    "print('status', sorted(found.items()))"))).ok().out();
            assertEquals(List.of(
                    "all ['base:allocation', 'qemu:allocation-depth']",
                    "qemu ['qemu:allocation-depth']",
                    "base ['base:allocation']",
                    "unknown []",
                    "selected True True",
                    "status [('base:allocation', [65536, 0, 983040, 3]), ('qemu:allocation-depth', [65536, 1, 983040, 0])]"),
                    out.lines().toList());
        }
    }

    /**
     * Writes wait in the cache (depth 1: only there); a flush writes them back to the memory plugin
     * (depth 2: the layer below has them); the rest is allocated nowhere (0).
     */
    @Test
    public void theCacheTellsWhereDataIsWithAllocationDepth() throws Exception {
        try (ServerProcess s = cacheOverMemory("depth")) {
            Tools.nbdsh(s.uri(), "h.pwrite(b'\\x01' * 131072, 1 << 20)").ok();
            assertEquals(List.of("0 1048576 0 absent", "1048576 131072 1 local", "1179648 65929216 0 absent"),
                    mapLines(Tools.run(T, "nbdinfo", "--map=qemu:allocation-depth", s.uri()).ok().out()));
            Tools.nbdsh(s.uri(), "h.flush()").ok();
            assertEquals(List.of("0 1048576 0 absent", "1048576 131072 2 backing depth 2", "1179648 65929216 0 absent"),
                    mapLines(Tools.run(T, "nbdinfo", "--map=qemu:allocation-depth", s.uri()).ok().out()));
        }
    }

    /**
     * A cow overlay over a file with data in its first MiB and a hole after: blocks written in the
     * session are in the overlay (depth 1), the rest is the file's data (2) or its hole (0).
     */
    @Test
    public void theCowOverlayTellsWhatTheSessionWroteWithAllocationDepth() throws Exception {
        Path dir = Distribution.workDir("metacontext/cow");
        Files.createDirectories(dir.resolve("tmp"));
        Path disk = dir.resolve("disk.img");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(0);
            f.write(new byte[1 << 20], 0, 1 << 20);
            f.seek(0);
            f.write(new byte[] {1, 2, 3});
            f.setLength(4 << 20);
        }
        try (ServerProcess s = ServerProcess.unix(dir, Map.of("TMPDIR", dir.resolve("tmp").toString()), "--filter=cow", "file", disk.toString())) {
            Tools.nbdsh(s.uri(), "h.pwrite(b'\\x01' * 65536, 2 << 20)").ok();
            assertEquals(List.of("0 1048576 2 backing depth 2", "1048576 1048576 0 absent", "2097152 65536 1 local",
                            "2162688 2031616 0 absent"),
                    mapLines(Tools.run(T, "nbdinfo", "--map=qemu:allocation-depth", s.uri()).ok().out()));
            byte[] file = Files.readAllBytes(disk);
            assertEquals("the file is never written", 0, file[2 << 20]);
        }
    }
}
