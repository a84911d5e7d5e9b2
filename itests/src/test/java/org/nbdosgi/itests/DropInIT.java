package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;
import static org.nbdosgi.itests.SideBySide.Server.NBDKIT;
import static org.nbdosgi.itests.SideBySide.Server.NBD_OSGI;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.junit.Test;

/**
 * nbd-osgi as a drop-in for nbdkit: each option of nbdkit(1) that issue 14 names, run with both
 * servers and the same arguments, comparing what a user sees (exit status, output, the client's
 * view), or asserting the difference the README documents.
 */
public class DropInIT {
    private static Path dir(String name) throws Exception {
        return Distribution.workDir("DropInIT/" + name);
    }

    private static Map<String, String> keyValues(String out) {
        Map<String, String> m = new TreeMap<>();
        out.lines().filter(l -> l.contains("=")).forEach(l -> m.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        return m;
    }

    // ---- probing (nbdkit-probing(1)) ---------------------------------------------------------

    @Test
    public void dumpConfigAndDumpPluginHaveNbdkitsKeys() throws Exception {
        SideBySide.Pair config = SideBySide.both("--dump-config");
        assertEquals(0, config.nbdkit().exit());
        assertEquals(config.nbdOsgi().err(), 0, config.nbdOsgi().exit());
        Map<String, String> ours = keyValues(config.nbdOsgi().out());
        for (String key : List.of("binary", "bindir", "exit_with_parent", "filterdir", "host_cpu", "host_os", "mandir", "name",
                "plugindir", "sysconfdir", "tls", "version", "version_major", "version_minor", "zstd")) {
            assertTrue("nbdkit has " + key, keyValues(config.nbdkit().out()).containsKey(key));
            assertTrue("nbd-osgi has " + key + ":\n" + config.nbdOsgi().out(), ours.containsKey(key));
        }
        assertEquals("0.2.0", ours.get("version"));
        assertEquals("0", ours.get("version_major"));
        assertEquals("2", ours.get("version_minor"));
        assertEquals(keyValues(config.nbdkit().out()).get("host_cpu"), ours.get("host_cpu"));

        SideBySide.Pair plugin = SideBySide.both("memory", "--dump-plugin");
        assertEquals(0, plugin.nbdkit().exit());
        assertEquals(plugin.nbdOsgi().err(), 0, plugin.nbdOsgi().exit());
        Map<String, String> kit = keyValues(plugin.nbdkit().out());
        Map<String, String> osgi = keyValues(plugin.nbdOsgi().out());
        for (String key : List.of("name", "magic_config_key", "thread_model", "has_pread", "has_pwrite", "has_flush", "has_trim",
                "has_zero", "has_extents", "has_can_fua", "has_can_multi_conn", "has_can_cache", "has_can_fast_zero", "has_get_size")) {
            assertEquals(key + "\n" + plugin.nbdOsgi().out(), kit.get(key), osgi.get(key));
        }
        assertTrue(osgi.get("path"), osgi.get("path").endsWith("bundles/plugin-memory.jar"));
        assertTrue(Files.isRegularFile(Path.of(osgi.get("path"))));

        // has_X from the plugin's own classes only: s3 embeds the AWS SDK and Netty (7,500 classes), none of them a callback
        Tools.Result s3 = SideBySide.run(NBD_OSGI, Map.of(), "s3", "--dump-plugin");
        assertEquals(s3.err(), 0, s3.exit());
        assertEquals(s3.out(), List.of("has_block_size", "has_can_extents", "has_can_fast_zero", "has_can_flush", "has_can_fua",
                "has_can_multi_conn", "has_can_trim", "has_can_write", "has_can_zero", "has_extents", "has_flush", "has_get_size",
                "has_pread", "has_pwrite", "has_trim", "has_zero"),
                keyValues(s3.out()).keySet().stream().filter(k -> k.startsWith("has_")).toList());

        SideBySide.Pair noPlugin = SideBySide.both("--dump-plugin");
        assertEquals(1, noPlugin.nbdkit().exit());
        assertEquals(1, noPlugin.nbdOsgi().exit());
    }

    @Test
    public void versionWithFiltersNamesEachAndFailsForOneThatIsMissing() throws Exception {
        SideBySide.Pair v = SideBySide.both("--version", "--filter=delay", "--filter=stats", "null");
        assertEquals(0, v.nbdkit().exit());
        assertEquals(v.nbdOsgi().err(), 0, v.nbdOsgi().exit());
        List<String> kit = v.nbdkit().out().lines().toList();
        List<String> osgi = v.nbdOsgi().out().lines().toList();
        assertEquals(osgi.toString(), kit.size(), osgi.size());
        assertEquals("nbd-osgi 0.2.0", osgi.get(0));
        for (int i = 1; i < kit.size(); i++) {
            assertEquals(kit.get(i).split(" ")[0], osgi.get(i).split(" ")[0]);
            assertEquals("0.2.0", osgi.get(i).split(" ")[1]);
        }
        SideBySide.Pair missing = SideBySide.both("--version", "--filter=nosuch", "null");
        assertEquals(1, missing.nbdkit().exit());
        assertEquals(1, missing.nbdOsgi().exit());
        assertEquals(missing.nbdOsgi().err(), 1, missing.nbdOsgi().err().lines().count());
        assertTrue(missing.nbdOsgi().err().startsWith("nbd-osgi: unknown filter 'nosuch'"));
    }

    @Test
    public void nullWithAFilterAndHelpShowsTheFiltersParameters() throws Exception {
        SideBySide.Pair help = SideBySide.both("null", "--filter=delay", "--help");
        assertEquals(0, help.nbdkit().exit());
        assertEquals(help.nbdOsgi().err(), 0, help.nbdOsgi().exit());
        for (String param : List.of("rdelay=", "wdelay=", "delay-trim=")) {
            assertTrue(param, help.nbdkit().out().contains(param));
            assertTrue(param + "\n" + help.nbdOsgi().out(), help.nbdOsgi().out().contains(param));
        }
        assertTrue(help.nbdOsgi().out(), help.nbdOsgi().out().contains("plugin null:"));
        SideBySide.Pair missing = SideBySide.both("null", "--filter=nosuch", "--help");
        assertEquals(1, missing.nbdkit().exit());
        assertEquals(1, missing.nbdOsgi().exit());
    }

    @Test
    public void probingQuestionsAreAnsweredWithoutStartingTheFramework() throws Exception {
        Path log = dir("probing").resolve("classes.log");
        for (List<String> probe : List.of(List.of("--version", "--filter=delay", "null"), List.of("memory", "--dump-plugin"),
                List.of("--dump-config"), List.of("null", "--filter=cache", "--help"), List.of("--help"))) {
            Files.deleteIfExists(log);
            List<String> cmd = new ArrayList<>(List.of(ServerProcess.launcher().toString()));
            cmd.addAll(probe);
            Tools.Result r = Tools.run(SideBySide.T, Map.of("NBD_OSGI_JAVA_OPTS", "-Xlog:class+load:file=" + log), cmd);
            assertEquals(r.err(), 0, r.exit());
            String classes = Files.readString(log);
            assertTrue("the probe ran: " + probe, classes.contains("org.nbdosgi.launcher.Launcher"));
            assertFalse(probe + " started Felix", classes.contains("org.apache.felix.framework.Felix "));
        }
    }

    // ---- -s, socket activation, --exit-with-parent ----------------------------------------------

    @Test
    public void singleServesOneClientOnStandardInputAndOutputThenExits() throws Exception {
        for (SideBySide.Server server : SideBySide.Server.values()) {
            // libnbd runs the server with a socket as stdin/stdout, and waits for it to exit on close
            Tools.Result r = Tools.run(SideBySide.T, Map.of(), List.of("nbdsh", "-c", "h.connect_command(['" + server.command
                    + "', '-s', 'memory', '1M'])\nh.pwrite(b'hello', 4096)\nprint(h.get_size(), bytes(h.pread(5, 4096)).decode())"));
            assertEquals(server + ": " + r.err(), "1048576 hello", r.out().trim());
        }
        SideBySide.Pair conflict = SideBySide.both("-s", "-U", "-", "memory", "1M");
        assertEquals(1, conflict.nbdkit().exit());
        assertEquals(1, conflict.nbdOsgi().exit());
    }

    @Test
    public void socketActivationServesTheSocketSystemdPasses() throws Exception {
        Tools.require("systemd-socket-activate");
        for (SideBySide.Server server : SideBySide.Server.values()) {
            int port = Tools.freePort();
            Process p = SideBySide.start(List.of("systemd-socket-activate", "-l", "127.0.0.1:" + port, server.command, "memory", "1M"),
                    dir("activation").resolve(server + ".log"));
            try {
                SideBySide.await("the socket", () -> SideBySide.size("nbd://127.0.0.1:" + port) != null);
                assertEquals("the server stayed (no fork, -f implied)", "1048576", SideBySide.size("nbd://127.0.0.1:" + port));
                assertTrue(p.isAlive());
            } finally {
                SideBySide.stop(p);
            }
            int other = Tools.freePort();
            Path log = dir("activation").resolve(server + "-p.log");
            Process bad = SideBySide.start(List.of("systemd-socket-activate", "-l", "127.0.0.1:" + other, server.command,
                    "-p", Integer.toString(Tools.freePort()), "memory", "1M"), log);
            try {
                SideBySide.await("the socket", () -> Files.readString(log).contains("Listening on"));
                assertNull("-p with socket activation is refused", SideBySide.size("nbd://127.0.0.1:" + other));
                assertTrue(bad.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
                assertEquals(Files.readString(log), 1, bad.exitValue());
            } finally {
                SideBySide.stop(bad);
            }
        }
    }

    @Test
    public void containerModeUnderSocketActivationServesItsExports() throws Exception {
        Path copy = dir("container-activation").resolve("nbd-osgi");
        Tools.run(SideBySide.T, "rm", "-rf", copy.toString()).ok();
        Tools.run(SideBySide.T, "cp", "-a", Distribution.home().toString(), copy.toString()).ok();
        int port = Tools.freePort();
        Process p = SideBySide.start(List.of("systemd-socket-activate", "-l", "127.0.0.1:" + port, copy.resolve("bin/nbd-osgi").toString()),
                dir("container-activation").resolve("server.log"));
        try {
            SideBySide.await("the socket", () -> SideBySide.size("nbd://127.0.0.1:" + port) != null);
            assertEquals("the shipped etc/ export, 1 GiB", "1073741824", SideBySide.size("nbd://127.0.0.1:" + port + "/"));
        } finally {
            SideBySide.stop(p);
        }
    }

    @Test
    public void exitWithParentStopsTheServerWhenItsParentDies() throws Exception {
        for (SideBySide.Server server : SideBySide.Server.values()) {
            Path d = dir("parent-" + server);
            Path sock = d.resolve("s.sock");
            Path pid = d.resolve("s.pid");
            Files.deleteIfExists(sock);
            Files.deleteIfExists(pid);
            // the parent: a shell that starts the server, waits until it listens, and exits
            Tools.Result r = Tools.run(SideBySide.T, "sh", "-c", "'" + server.command + "' --exit-with-parent -U " + sock + " -P " + pid
                    + " memory 1M </dev/null >/dev/null 2>&1 & while [ ! -S " + sock + " ]; do sleep 0.1; done; echo started");
            assertEquals(r.err(), "started", r.out().trim());
            SideBySide.await("the pid file", () -> Files.exists(pid) && !Files.readString(pid).isBlank());
            long server_ = Long.parseLong(Files.readString(pid).trim());
            SideBySide.await(server + " to exit after its parent", () -> ProcessHandle.of(server_).map(h -> !h.isAlive()).orElse(true));
        }
    }

    // ---- messages: --log, -v, -D --------------------------------------------------------------

    @Test
    public void logNullAndSyslogTakeTheErrorsFromStandardError() throws Exception {
        for (String log : List.of("--log=null", "--log=syslog")) {
            SideBySide.Pair p = SideBySide.both(log, "-U", "-", "memory", "1Q", "--run", "true");
            assertEquals(1, p.nbdkit().exit());
            assertEquals(1, p.nbdOsgi().exit());
            assertEquals(p.nbdkit().err(), "", p.nbdkit().err());
            assertEquals(log, "", p.nbdOsgi().err());
        }
        SideBySide.Pair p = SideBySide.both("--log=stderr", "-U", "-", "memory", "1Q", "--run", "true");
        assertEquals(1, p.nbdOsgi().exit());
        assertEquals("nbd-osgi: memory: size: cannot parse size '1Q'", p.nbdOsgi().err().trim());
        assertFalse(p.nbdkit().err().isEmpty());
    }

    @Test
    public void verboseShowsTheNegotiationAndEachRequestAndDebugFlagsQuietThem() throws Exception {
        String client = "nbdsh -u \"$uri\" -c 'h.pread(512, 1024)'";
        SideBySide.Pair v = SideBySide.both("-fv", "-U", "-", "memory", "1M", "--run", client);
        assertEquals(v.nbdkit().err(), 0, v.nbdkit().exit());
        assertEquals(v.nbdOsgi().err(), 0, v.nbdOsgi().exit());
        for (String seen : List.of("newstyle negotiation", "NBD_OPT_GO", "NBD_OPT_STRUCTURED_REPLY")) {
            assertTrue("nbdkit shows " + seen, v.nbdkit().err().contains(seen));
            assertTrue("nbd-osgi shows " + seen + ":\n" + v.nbdOsgi().err(), v.nbdOsgi().err().contains(seen));
        }
        assertTrue(v.nbdkit().err().contains("pread count=512 offset=1024"));
        assertTrue(v.nbdOsgi().err(), v.nbdOsgi().err().contains("read offset=1024 count=512"));
        assertTrue("-v says where it listens:\n" + v.nbdOsgi().err(), v.nbdOsgi().err().contains("listening on /"));

        SideBySide.Pair quiet = SideBySide.both("-fv", "-D", "nbdkit.backend.datapath=0", "-U", "-", "memory", "1M", "--run", client);
        assertFalse(quiet.nbdkit().err().contains("pread count=512"));
        assertFalse(quiet.nbdOsgi().err(), quiet.nbdOsgi().err().contains("read offset=1024"));
        assertTrue(quiet.nbdOsgi().err().contains("NBD_OPT_GO"));

        SideBySide.Pair unknown = SideBySide.both("-D", "nosuch.flag=1", "-U", "-", "memory", "1M", "--run", "true");
        assertEquals(0, unknown.nbdkit().exit());
        assertEquals(0, unknown.nbdOsgi().exit());
        assertTrue(unknown.nbdkit().err().contains("nosuch.flag"));
        assertEquals("nbd-osgi: warning: debug flag -D nosuch.flag was not used", unknown.nbdOsgi().err().trim());
        SideBySide.Pair bad = SideBySide.both("-D", "verbose", "-U", "-", "memory", "1M", "--run", "true");
        assertEquals(1, bad.nbdkit().exit());
        assertEquals(1, bad.nbdOsgi().exit());
    }

    // ---- listening -----------------------------------------------------------------------------

    private static String reach(SideBySide.Server server, List<String> options, List<String> hosts) throws Exception {
        int port = Tools.freePort();
        List<String> cmd = new ArrayList<>(List.of(server.command, "-f", "-p", Integer.toString(port)));
        cmd.addAll(options);
        cmd.addAll(List.of("memory", "1M"));
        Process p = SideBySide.start(cmd, dir("listen").resolve(server + ".log"));
        try {
            SideBySide.await(server + " listening", () -> hosts.stream().anyMatch(h -> {
                try {
                    return SideBySide.size("nbd://" + h + ":" + port) != null;
                } catch (Exception e) {
                    return false;
                }
            }) || !p.isAlive());
            StringBuilder b = new StringBuilder();
            for (String h : hosts) {
                b.append(h).append('=').append(SideBySide.size("nbd://" + h + ":" + port) != null ? "yes" : "no").append(' ');
            }
            return b.toString().trim();
        } finally {
            SideBySide.stop(p);
        }
    }

    private static boolean hasIpv6Loopback() throws Exception {
        return Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                .flatMap(i -> Collections.list(i.getInetAddresses()).stream()).anyMatch(a -> a instanceof Inet6Address && a.isLoopbackAddress());
    }

    @Test
    public void withoutAnAddressEveryAddressIsServedAndMinus4OrMinus6KeepsOneFamily() throws Exception {
        assumeTrue("the host has ::1", hasIpv6Loopback());
        List<String> hosts = new ArrayList<>(List.of("127.0.0.1", "[::1]"));
        Collections.list(NetworkInterface.getNetworkInterfaces()).stream().flatMap(i -> Collections.list(i.getInetAddresses()).stream())
                .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress()).map(InetAddress::getHostAddress).findFirst()
                .ifPresent(hosts::add);                     // a remote client's way in, when the host has one
        for (List<String> options : List.<List<String>>of(List.of(), List.of("-4"), List.of("-6"))) {
            String kit = reach(NBDKIT, options, hosts);
            String osgi = reach(NBD_OSGI, options, hosts);
            assertEquals(options.toString(), kit, osgi);
        }
        assertEquals("127.0.0.1=yes [::1]=yes", reach(NBD_OSGI, List.of(), List.of("127.0.0.1", "[::1]")));
    }

    @Test
    public void userAndGroupAreTakenOnceListening() throws Exception {
        assumeTrue("needs root", "root".equals(System.getProperty("user.name")));
        List<String> ids = new ArrayList<>();
        for (SideBySide.Server server : SideBySide.Server.values()) {
            Path sock = dir("user").resolve(server + ".sock");
            Files.deleteIfExists(sock);
            Process p = SideBySide.start(List.of(server.command, "-f", "-u", "nobody", "-g", "nogroup", "-U", sock.toString(), "memory", "1M"),
                    dir("user").resolve(server + ".log"));
            try {
                SideBySide.await("the socket", () -> SideBySide.size("nbd+unix:///?socket=" + sock) != null);
                Path status = Path.of("/proc/" + p.pid() + "/status");   // bin/nbd-osgi execs the JVM
                // the socket accepts from the moment it is bound; the identity changes right after
                SideBySide.await(server + " to change user", () -> Files.readString(status).contains("Uid:\t65534"));
                ids.add(Files.readAllLines(status).stream()
                        .filter(l -> l.startsWith("Uid:") || l.startsWith("Gid:") || l.startsWith("Groups:")).collect(Collectors.joining("; ")));
            } finally {
                SideBySide.stop(p);
            }
        }
        assertEquals(ids.get(0), ids.get(1));
        assertTrue(ids.get(1), ids.get(1).contains("65534"));
        // without --run: nbdkit's captive child may exit first and hide the failure
        SideBySide.Pair noSuch = SideBySide.both("-f", "-u", "nosuchuser", "-U", dir("user").resolve("none.sock").toString(), "memory", "1M");
        assertEquals(1, noSuch.nbdkit().exit());
        assertEquals(1, noSuch.nbdOsgi().exit());
    }

    // ---- the handshake -------------------------------------------------------------------------

    @Test
    public void maskHandshakeAndNoSrChangeWhatTheClientNegotiates() throws Exception {
        for (List<String> options : List.<List<String>>of(List.of("--mask-handshake=0"), List.of("--mask-handshake=1"),
                List.of("--mask-handshake=2"), List.of("--no-sr"), List.of())) {
            List<String> args = new ArrayList<>(options);
            args.addAll(List.of("-U", "-", "memory", "1M", "--run", "nbdinfo \"$uri\" | head -1; nbdinfo --size \"$uri\""));
            SideBySide.Pair p = SideBySide.both(args.toArray(String[]::new));
            assertEquals(options + ": " + p.nbdOsgi().err(), p.nbdkit().out(), p.nbdOsgi().out());
        }
    }

    @Test
    public void threadsLimitsTheRequestsInFlight() throws Exception {
        SideBySide.Pair p = SideBySide.both("-t", "1", "-U", "-", "memory", "1M", "--run", "nbdcopy \"$uri\" - | wc -c");
        assertEquals(p.nbdkit().out(), p.nbdOsgi().out());
        assertEquals("1048576", p.nbdOsgi().out().trim());
        // 16 reads sent at once, each delayed 100 ms: with -t 1 they run one after another (at least
        // 1.6 s, however idle the machine), without it side by side
        String sixteen = "nbdsh -u \"$uri\" -c 'import time\nt = time.monotonic()\n"
                + "for i in range(16): h.aio_pread(nbd.Buffer(512), i * 512)\n"
                + "while h.aio_in_flight() > 0: h.poll(-1)\nprint(int((time.monotonic() - t) * 1000))'";
        SideBySide.Pair one = SideBySide.both("-t", "1", "-U", "-", "--filter=delay", "memory", "1M", "rdelay=100ms", "--run", sixteen);
        SideBySide.Pair many = SideBySide.both("-U", "-", "--filter=delay", "memory", "1M", "rdelay=100ms", "--run", sixteen);
        for (SideBySide.Pair pair : List.of(one, many)) {
            assertEquals(pair.nbdkit().err(), 0, pair.nbdkit().exit());
            assertEquals(pair.nbdOsgi().err(), 0, pair.nbdOsgi().exit());
        }
        long kitOne = Long.parseLong(one.nbdkit().out().trim());
        long osgiOne = Long.parseLong(one.nbdOsgi().out().trim());
        long osgiMany = Long.parseLong(many.nbdOsgi().out().trim());
        assertTrue("nbdkit -t 1: " + kitOne + " ms", kitOne >= 1600);
        assertTrue("nbd-osgi -t 1: " + osgiOne + " ms", osgiOne >= 1600);
        assertTrue("nbd-osgi without -t: " + osgiMany + " ms, with -t 1: " + osgiOne + " ms", osgiMany < osgiOne);
    }

    // ---- captive mode and export names --------------------------------------------------------

    @Test
    public void captiveModeEnvironmentIsNbdkits() throws Exception {
        String show = "echo uri=$uri; echo nbd=$nbd; echo exportname=$exportname; echo tls=${tls-unset}; echo port=${port-unset};"
                + " test -S \"$unixsocket\" && echo unixsocket; nbdinfo --size \"$uri\"";
        SideBySide.Pair unix = SideBySide.both("-U", "-", "-e", "/disks/disk.raw", "memory", "1M", "--run", show);
        assertEquals(SideBySide.normalized(unix.nbdkit().out()), SideBySide.normalized(unix.nbdOsgi().out()));
        assertTrue(unix.nbdOsgi().out(), unix.nbdOsgi().out().contains("nbd=nbd+unix:////disks/disk.raw?socket="));
        int port = Tools.freePort();
        SideBySide.Pair tcp = SideBySide.both("-p", Integer.toString(port), "-e", "foo", "memory", "1M", "--run", show);
        assertEquals(tcp.nbdkit().out(), tcp.nbdOsgi().out());
        assertTrue(tcp.nbdOsgi().out(), tcp.nbdOsgi().out().startsWith("uri=nbd://localhost:" + port + "/foo\nnbd=nbd://localhost:"));
    }

    @Test
    public void exportNameDoesNotRenameAPluginThatServesManyNames() throws Exception {
        Path files = dir("names");
        for (String f : List.of("a.img", "b.img")) {
            Tools.run(SideBySide.T, "truncate", "-s", f.equals("a.img") ? "1M" : "2M", files.resolve(f).toString()).ok();
        }
        String show = "nbdinfo --list \"$uri\" | grep 'export=' | sort; nbdinfo --size \"$uri\"";
        SideBySide.Pair p = SideBySide.both("-U", "-", "-e", "b.img", "file", "dir=" + files, "--run", show);
        assertEquals(p.nbdkit().out(), p.nbdOsgi().out());
        assertEquals("export=\"a.img\":\nexport=\"b.img\":\n2097152\n", p.nbdOsgi().out());
        SideBySide.Pair memory = SideBySide.both("-U", "-", "-e", "mydisk", "memory", "16M", "--run", show);
        assertEquals("-e names no export: the list shows the default one", memory.nbdkit().out(), memory.nbdOsgi().out());
    }

    @Test
    public void exportNameSelectsTheFileInsideAnExt2ImageAsInNbdkitCaptive() throws Exception {
        Path d = dir("ext2");
        Path root = d.resolve("root");
        Files.createDirectories(root.resolve("disks"));
        Path disk = root.resolve("disks/disk.raw");
        byte[] data = new byte[3 << 20];
        new java.util.Random(14).nextBytes(data);
        Files.write(disk, data);
        Path image = d.resolve("fs.img");
        Files.deleteIfExists(image);
        Tools.run(SideBySide.T, "mke2fs", "-q", "-t", "ext4", "-d", root.toString(), image.toString(), "20M").ok();
        Path copy = d.resolve("copy.raw");
        Files.deleteIfExists(copy);
        SideBySide.Pair p = SideBySide.both("-U", "-", "-e", "/disks/disk.raw", "--filter=ext2", "file", image.toString(),
                "ext2file=exportname", "--run", "nbdinfo --size \"$uri\"");
        assertEquals(p.nbdkit().out(), p.nbdOsgi().out());
        Tools.run(SideBySide.T, ServerProcess.launcher().toString(), "-U", "-", "-e", "/disks/disk.raw", "--filter=ext2", "file",
                image.toString(), "ext2file=exportname", "--run", "nbdcopy \"$uri\" " + copy).ok();
        assertTrue("the client reads the file inside the image", java.util.Arrays.equals(data, Files.readAllBytes(copy)));
    }

    // ---- parameters ---------------------------------------------------------------------------

    @Test
    public void theLastValueOfAParameterWins() throws Exception {
        SideBySide.Pair size = SideBySide.both("-U", "-", "memory", "1M", "size=2M", "--run", "nbdinfo --size \"$uri\"");
        assertEquals(size.nbdkit().out(), size.nbdOsgi().out());
        assertEquals("2097152", size.nbdOsgi().out().trim());
        SideBySide.Pair alias = SideBySide.both("-U", "-", "--filter=delay", "memory", "1M", "rdelay=100", "delay-read=0",
                "--run", "nbdsh -u \"$uri\" -c 'h.pread(512, 0)' && echo read");
        assertEquals(alias.nbdkit().out(), alias.nbdOsgi().out());
        assertEquals(alias.nbdOsgi().err(), "read", alias.nbdOsgi().out().trim());
    }

    @Test
    public void memoryAllocators() throws Exception {
        SideBySide.Pair malloc = SideBySide.both("-U", "-", "memory", "1M", "allocator=malloc",
                "--run", "nbdsh -u \"$uri\" -c 'h.pwrite(b\"x\" * 512, 0)' -c 'print(bytes(h.pread(1, 0)).decode())'");
        assertEquals(malloc.nbdkit().out(), malloc.nbdOsgi().out());
        assertEquals("x", malloc.nbdOsgi().out().trim());
        // documented difference: nbdkit compresses with zstd; nbd-osgi refuses it with one line
        SideBySide.Pair zstd = SideBySide.both("-U", "-", "memory", "1M", "allocator=zstd", "--run", "nbdinfo --size \"$uri\"");
        assertEquals(0, zstd.nbdkit().exit());
        assertEquals(1, zstd.nbdOsgi().exit());
        assertEquals("nbd-osgi: memory: allocator: zstd is not supported (the pages are not compressed; use sparse)",
                zstd.nbdOsgi().err().trim());
    }

    @Test
    public void unsupportedOptionsAreOneLineAndExitStatusOne() throws Exception {
        // documented differences: nbdkit has oldstyle, AF_VSOCK, SELinux labels and --swap
        for (List<String> args : List.<List<String>>of(List.of("-o"), List.of("--oldstyle"), List.of("--vsock"),
                List.of("--selinux-label=x"), List.of("--swap"))) {
            List<String> cmd = new ArrayList<>(args);
            cmd.addAll(List.of("-U", "-", "memory", "1M", "--run", "true"));
            Tools.Result r = SideBySide.run(NBD_OSGI, Map.of(), cmd.toArray(String[]::new));
            assertEquals(args + ": " + r.err(), 1, r.exit());
            assertEquals(r.err(), 1, r.err().lines().count());
            assertTrue(r.err(), r.err().matches("nbd-osgi: .*not supported.*\\n"));
        }
        assertEquals("nbdkit speaks oldstyle", 0, SideBySide.run(NBDKIT, Map.of(), "-o", "-U", "-", "memory", "1M", "--run", "true").exit());
    }
}
