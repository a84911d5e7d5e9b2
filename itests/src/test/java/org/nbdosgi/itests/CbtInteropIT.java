package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Test;

/**
 * The cbt filter in a container with the real clients of an incremental backup: a full copy
 * (nbdcopy), writes (qemu-io), the changed ranges read with nbdinfo and with qemu-img map through
 * qemu's NBD client (x-dirty-bitmap), only those copied (libnbd), the backup compared with the
 * source (qemu-img compare); then the bitmap across a bundle update, a clean restart and a kill.
 */
public class CbtInteropIT {
    private static final Duration T = Duration.ofSeconds(120);
    private static final long SIZE = 64L << 20;

    /** The dirty ranges of the bitmap as nbdinfo maps them: "offset length" each. */
    private static List<String> dirtyByNbdinfo(String uri, String bitmap) throws Exception {
        List<String> out = new ArrayList<>();
        for (String l : Tools.run(T, "nbdinfo", "--map=qemu:dirty-bitmap:" + bitmap, uri).ok().out().lines().toList()) {
            String[] f = l.trim().split("\\s+");
            if (f.length >= 3 && f[2].equals("1")) {
                out.add(f[0] + " " + f[1]);
            }
        }
        return out;
    }

    /**
     * The dirty ranges as qemu-img map sees them through qemu's NBD client reading the bitmap in
     * place of base:allocation (x-dirty-bitmap): a dirty block is a "hole" there, so "data": false.
     */
    private static List<String> dirtyByQemuImg(Instance nbd, String export, String bitmap) throws Exception {
        String port = nbd.uri("").replaceAll(".*:(\\d+)/.*", "$1");
        String json = Tools.run(T, "qemu-img", "map", "--output=json", "--image-opts",
                "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=" + port + ",export=" + export
                        + ",x-dirty-bitmap=qemu:dirty-bitmap:" + bitmap).ok().out();
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"start\": (\\d+), \"length\": (\\d+),[^}]*\"data\": (true|false)").matcher(json);
        while (m.find()) {
            if (m.group(3).equals("false")) {
                out.add(m.group(1) + " " + m.group(2));
            }
        }
        return out;
    }

    /** Copies the bitmap's dirty ranges from the export into {@code backup} with libnbd; returns the bytes copied. */
    private static long copyDirty(String uri, String bitmap, Path backup) throws Exception {
        String out = Tools.run(T, Map.of(), List.of("nbdsh", "-c", String.join("\n",
                "h.add_meta_context('qemu:dirty-bitmap:" + bitmap + "')",
                "h.connect_uri('" + uri + "')",
                "size = h.get_size()",
                "ranges = []",
                "def got(context, offset, entries, err):",
                "    for i in range(0, len(entries), 2):",
                "        if entries[i + 1] & 1: ranges.append((offset, entries[i]))",
                "        offset += entries[i]",
                "    return 0",
                "at = 0",
                "while at < size:",
                "    before = len(ranges)",
                "    seen = []",
                "    h.block_status(min(size - at, 1 << 30), at, lambda c, o, e, err: seen.append(sum(e[0::2])) or got(c, o, e, err))",
                "    at += seen[0]",
                "copied = 0",
                "with open('" + backup + "', 'r+b') as f:",
                "    for (off, length) in ranges:",
                "        f.seek(off); f.write(h.pread(length, off)); copied += length",
                "print(copied)"))).ok().out();
        return Long.parseLong(out.trim());
    }

    private static String bundleId(Instance nbd, String symbolicName) throws Exception {
        String lb = nbd.client("lb", "-s", symbolicName).ok().out();
        Matcher m = Pattern.compile("(?m)^(\\d+)\\s+active\\s+\\d+\\s+" + Pattern.quote(symbolicName) + "\\s").matcher(lb);
        assertTrue(lb, m.find());
        return m.group(1);
    }

    @Test
    public void incrementalBackupWalkthroughAndTheBitmapThroughUpdateRestartAndKill() throws Exception {
        Path dir = Distribution.workDir("CbtInteropIT");
        try (Instance nbd = Instance.copy(Files.createTempDirectory("nbdit"))) {
            nbd.start();
            Path disk = dir.resolve("disk.img");
            Path backup = dir.resolve("backup.img");
            Files.deleteIfExists(disk);
            Files.deleteIfExists(backup);
            Tools.run(T, "truncate", "-s", Long.toString(SIZE), disk.toString()).ok();
            Tools.run(T, "dd", "if=/dev/urandom", "of=" + disk, "bs=1M", "count=8", "conv=notrunc").ok();
            nbd.client("nbd:export-add", "vm", "--filter=cbt", "file", disk.toString()).ok();
            String uri = nbd.uri("vm");

            // the bitmap starts before the full copy, so nothing written during the copy is missed
            assertTrue(nbd.client("nbd:bitmap-add", "vm", "backup").ok().out()
                    .contains("bitmap backup added to export 'vm' (granularity 64K): clients read it as qemu:dirty-bitmap:backup"));
            Tools.run(T, "nbdcopy", uri, backup.toString()).ok();
            assertEquals("nothing written yet", List.of(), dirtyByNbdinfo(uri, "backup"));

            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x55 1M 64k", "-c", "write -P 0xaa 10485770 100",
                    "-c", "write -z 20M 128k", "-c", "discard 30M 64k", uri).ok();
            List<String> changed = List.of("1048576 65536", "10485760 65536", "20971520 131072", "31457280 65536");
            assertEquals(changed, dirtyByNbdinfo(uri, "backup"));
            assertEquals("qemu's NBD client reads the same ranges", changed, dirtyByQemuImg(nbd, "vm", "backup"));

            assertEquals("only the changed ranges are copied", 5L * 65536, copyDirty(uri, "backup", backup));
            Tools.run(T, "qemu-img", "compare", "-f", "raw", "-F", "raw", backup.toString(), uri).ok();
            String chain = nbd.client("nbd:chain", "vm").ok().out();
            assertTrue(chain, chain.contains("bitmap backup: granularity 64K, 5 blocks dirty (320K)"));

            // bundle updates, of the filter and of the plugin below it: the filter hands its bitmaps to its successor
            nbd.client("update", bundleId(nbd, "org.nbdosgi.filter.cbt")).ok();
            nbd.awaitLog(Duration.ofSeconds(20), "export 'vm' resumed", 1);
            assertEquals(changed, dirtyByNbdinfo(uri, "backup"));
            nbd.client("update", bundleId(nbd, "org.nbdosgi.plugin.file")).ok();
            nbd.awaitLog(Duration.ofSeconds(20), "export 'vm' resumed", 2);
            assertEquals(changed, dirtyByNbdinfo(uri, "backup"));

            // after the backup: clear, then one more write; a clean restart keeps the bitmap
            nbd.client("nbd:bitmap-clear", "vm", "backup").ok();
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x11 40M 4k", uri).ok();
            nbd.stop();
            nbd.start();
            assertEquals("saved at the clean stop", List.of("41943040 65536"), dirtyByNbdinfo(uri, "backup"));

            // killed: the bitmap may miss writes, so it says so and reports everything dirty
            Tools.run(T, "qemu-io", "-f", "raw", "-c", "write -P 0x22 50M 4k", uri).ok();
            nbd.kill();
            nbd.start();
            chain = nbd.client("nbd:chain", "vm").ok().out();
            assertTrue(chain, chain.contains("bitmap backup: granularity 64K, INCONSISTENT"));
            assertEquals(List.of("0 " + SIZE), dirtyByNbdinfo(uri, "backup"));
            nbd.client("nbd:bitmap-clear", "vm", "backup").ok();
            assertEquals(List.of(), dirtyByNbdinfo(uri, "backup"));

            nbd.client("nbd:bitmap-add", "vm", "daily", "4K").ok();
            String listed = Tools.run(T, Map.of(), List.of("nbdsh", "-c", String.join("\n",
                    "h.set_opt_mode(True)",
                    "h.connect_uri('" + uri + "')",
                    "h.add_meta_context('qemu:dirty-bitmap:')",
                    "seen = []",
                    "h.opt_list_meta_context(lambda name: seen.append(name) or 0)",
                    "print(seen)"))).ok().out().trim();
            assertEquals("a new bitmap is offered at once; the wildcard lists them all",
                    "['qemu:dirty-bitmap:backup', 'qemu:dirty-bitmap:daily']", listed);
            nbd.client("nbd:bitmap-remove", "vm", "daily").ok();
            nbd.client("nbd:bitmap-remove", "vm", "backup").ok();
            String info = Tools.run(T, "nbdinfo", uri).ok().out();
            assertTrue(info, !info.contains("qemu:dirty-bitmap:backup"));
            Tools.Result missing = nbd.client("nbd:bitmap-clear", "vm", "backup");
            assertEquals(missing.err(), 1, missing.exit());
            assertTrue(missing.err(), missing.err().contains("export 'vm' has no bitmap named 'backup' (it has none)"));

            // the bitmaps live beside the export's configuration, and go with it
            Path state = nbd.etc().resolve("state/export-vm/cbt");
            nbd.client("nbd:bitmap-add", "vm", "weekly", "1M").ok();
            assertTrue(Files.exists(state.resolve("weekly.bitmap")));
            nbd.client("nbd:export-remove", "vm").ok();
            assertTrue("removed with the export", !Files.exists(state));
        }
    }
}
