package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/** The nbdkit-compatible command line of bin/nbd-osgi, as a user meets it. */
public class CommandLineIT {
    private static final Duration T = Duration.ofSeconds(60);

    private static Tools.Result nbdOsgi(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ServerProcess.launcher().toString()));
        cmd.addAll(List.of(args));
        return Tools.run(T, Map.of(), cmd);
    }

    /** Exit status 1 and exactly one line on stderr (matching the regex {@code expected}), without a stack trace. */
    private static void assertOneLineError(Tools.Result r, String expected) {
        assertEquals(r.err(), 1, r.exit());
        List<String> lines = r.err().lines().toList();
        assertEquals("one line only:\n" + r.err(), 1, lines.size());
        assertTrue(lines.get(0), lines.get(0).matches("nbd-osgi: " + expected));
        assertFalse(r.err().contains("Exception"));
    }

    @Test
    public void badCommandLinesAreOneClearLine() throws Exception {
        assertOneLineError(nbdOsgi("-U", "-", "nosuchplugin"), "unknown plugin 'nosuchplugin' \\(available: .*memory.*\\)");
        assertOneLineError(nbdOsgi("-U", "-", "memory", "1Q"), "memory: size: cannot parse size '1Q'");
        assertOneLineError(nbdOsgi("-U", "-", "memory"), "memory: size: this parameter is required");
        assertOneLineError(nbdOsgi("-U", "-", "memory", "1G", "colour=blue"), "unknown parameter 'colour' \\(memory accept: size allocator\\)");
        assertOneLineError(nbdOsgi("--bogus", "memory", "1G"), "unknown option '--bogus' \\(see nbd-osgi --help\\)");
        assertOneLineError(nbdOsgi("-U", "-", "--filter=nosuch", "memory", "1G"), "unknown filter 'nosuch'.*");
        assertOneLineError(nbdOsgi("-p", "notaport", "memory", "1G"), "-p: 'notaport' is not a number");
    }

    @Test
    public void helpVersionAndPluginHelp() throws Exception {
        Tools.Result help = nbdOsgi("--help").ok();
        assertTrue(help.out(), help.out().contains("usage: nbd-osgi"));
        Tools.Result version = nbdOsgi("--version").ok();
        assertEquals("a release number, not a build stamp", "nbd-osgi 0.2.0\n", version.out());
        Tools.Result plugin = nbdOsgi("memory", "--help").ok();
        assertTrue(plugin.out(), plugin.out().contains("plugin memory: a sparse RAM disk"));
        assertTrue(plugin.out(), plugin.out().contains("[size=]..."));
    }

    @Test
    public void captiveModeSetsTheEnvironmentAndReturnsTheCommandsStatus() throws Exception {
        Tools.Result r = nbdOsgi("-U", "-", "-e", "disk", "memory", "1M", "--run",
                "nbdinfo --size \"$uri\"; echo \"nbd=$nbd\"; echo \"name=$exportname\"; test -S \"$unixsocket\" && echo socket-ok; exit 3");
        assertEquals(r.err(), 3, r.exit());
        List<String> lines = r.out().lines().toList();
        assertEquals(r.out(), "1048576", lines.get(0));
        assertTrue(r.out(), lines.get(1).matches("nbd=nbd\\+unix:///disk\\?socket=.*/socket"));
        assertEquals("name=disk", lines.get(2));
        assertEquals("socket-ok", lines.get(3));
        String socketDir = lines.get(1).replaceFirst("nbd=nbd\\+unix:///disk\\?socket=", "").replaceFirst("/socket$", "");
        assertFalse("the private socket is removed at exit", Files.exists(Path.of(socketDir)));
    }

    @Test
    public void captiveModeOverTcpGivesThePortAndAUriThatReachesTheServer() throws Exception {
        String script = "echo \"uri=$uri\"; echo \"port=$port\"; nbdinfo --size \"$uri\"";
        int port = Tools.freePort();
        Tools.Result r = nbdOsgi("-p", Integer.toString(port), "-e", "disk", "memory", "1M", "--run", script);
        assertEquals(r.err(), 0, r.exit());
        assertEquals(r.out(), List.of("uri=nbd://localhost:" + port + "/disk", "port=" + port, "1048576"), r.out().lines().toList());

        port = Tools.freePort();
        r = nbdOsgi("-p", Integer.toString(port), "-i", "127.0.0.1", "memory", "2M", "--run", script);
        assertEquals(r.err(), 0, r.exit());
        assertEquals("the address -i names is the URI's host", List.of("uri=nbd://127.0.0.1:" + port, "port=" + port, "2097152"),
                r.out().lines().toList());
    }

    @Test
    public void aPluginWhoseCreateThrowsIsOneLineWithoutAStackTrace() throws Exception {
        Path dir = Distribution.workDir("CommandLineIT/broken");
        Path copy = dir.resolve("nbd-osgi");
        Tools.run(T, "rm", "-rf", copy.toString()).ok();
        Tools.run(T, "cp", "-r", Distribution.home().toString(), copy.toString()).ok();
        brokenPluginBundle(copy.resolve("bundles/plugin-broken.jar"));
        Tools.Result r = Tools.run(T, Map.of(), List.of(copy.resolve("bin/nbd-osgi").toString(), "-U", "-", "broken"));
        assertEquals(r.err(), 1, r.exit());
        assertEquals("one line only:\n" + r.err(), List.of("nbd-osgi: broken: failed to start: java.lang.IllegalStateException: broken on purpose"),
                r.err().lines().toList());
        Tools.Result verbose = Tools.run(T, Map.of(), List.of(copy.resolve("bin/nbd-osgi").toString(), "-v", "-U", "-", "broken"));
        assertTrue("-v shows where it failed:\n" + verbose.err(), verbose.err().contains("\tat org.nbdosgi.itests.broken.BrokenPlugin.create"));
    }

    /** A bundle holding {@link org.nbdosgi.itests.broken.BrokenPlugin}, whose activator registers it. */
    private static void brokenPluginBundle(Path jar) throws Exception {
        java.util.jar.Manifest m = new java.util.jar.Manifest();
        java.util.jar.Attributes a = m.getMainAttributes();
        a.putValue("Manifest-Version", "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "org.nbdosgi.plugin.broken");
        a.putValue("Bundle-Version", "1.0.0");
        a.putValue("Bundle-Activator", org.nbdosgi.itests.broken.BrokenPlugin.class.getName());
        a.putValue("Import-Package", "org.nbdosgi.api,org.osgi.framework");
        String entry = org.nbdosgi.itests.broken.BrokenPlugin.class.getName().replace('.', '/') + ".class";
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), m);
             var in = CommandLineIT.class.getClassLoader().getResourceAsStream(entry)) {
            out.putNextEntry(new java.util.jar.JarEntry(entry));
            in.transferTo(out);
            out.closeEntry();
        }
    }

    @Test
    public void captiveModeGivesTheConsoleSocketInConsoleEvenWhenTheConfiguredPathIsTooLong() throws Exception {
        Path deep = Distribution.workDir("CommandLineIT/" + "d".repeat(60) + "/" + "e".repeat(40));
        String wanted = deep.resolve("console.sock").toString();
        assertTrue(wanted, wanted.length() > 107);
        String client = ServerProcess.launcher().resolveSibling("nbd-osgi-client").toString();
        Tools.Result r = Tools.run(T, Map.of("NBD_OSGI_JAVA_OPTS", "-Dnbd.console.socket=" + wanted),
                List.of(ServerProcess.launcher().toString(), "-U", "-", "memory", "1M", "--run",
                        client + " -s \"$console\" nbd:exports && " + client + " nbd:plugins >/dev/null"
                                + " && stat -c '%a %n' \"$console\" \"$(dirname \"$console\")\""));
        assertEquals(r.err(), 0, r.exit());
        List<String> lines = r.out().lines().toList();
        assertTrue(r.out(), lines.get(1).matches("\"\"\\s+running\\s+.*memory 1M"));
        assertTrue(r.out(), lines.get(2).matches("600 /.*/console\\.sock"));
        Path dir = Path.of(lines.get(2).substring(4)).getParent();
        assertEquals("700 " + dir, lines.get(3));
        assertTrue(r.err(), r.err().contains("console socket path " + wanted + " is too long for a Unix socket"));
        assertFalse("the fallback directory is removed at exit", Files.exists(dir));
    }

    @Test
    public void tcpListenerPidFileAndCleanShutdown() throws Exception {
        Path dir = Distribution.workDir("CommandLineIT/tcp");
        Path pid = dir.resolve("server.pid");
        Files.deleteIfExists(pid);
        try (ServerProcess s = ServerProcess.tcp(dir, "-P", pid.toString(), "memory", "2M")) {
            for (int i = 0; i < 100 && !Files.exists(pid); i++) {
                Thread.sleep(50);                            // written once every listener is bound
            }
            assertEquals(Long.toString(s.pid()), Files.readString(pid).trim());
            String size = Tools.run(T, "nbdinfo", "--size", "nbd://127.0.0.1:" + s.port()).ok().out().trim();
            assertEquals("2097152", size);
            assertEquals("SIGTERM ends the server cleanly", 0, s.stop());
            assertFalse("the pid file is removed", Files.exists(pid));
        }
    }

    @Test
    public void withoutForegroundTheServerGoesToTheBackgroundOnceItListens() throws Exception {
        Path dir = Distribution.workDir("CommandLineIT/background");
        Path sock = dir.resolve("bg.sock");
        Path pid = dir.resolve("bg.pid");
        Files.deleteIfExists(sock);
        // run as a script would: output captured by $(...), which must not wait for the server
        Tools.Result r = Tools.run(T, "sh", "-c", "out=$(" + ServerProcess.launcher() + " -U " + sock + " -P " + pid
                + " memory 1M) && echo \"returned [$out]\" && nbdinfo --size 'nbd+unix:///?socket=" + sock + "'");
        long server = Long.parseLong(Files.readString(pid).trim());
        try {
            assertEquals(r.err(), "returned []\n1048576\n", r.out());
            assertTrue(ProcessHandle.of(server).isPresent());
        } finally {
            ProcessHandle.of(server).ifPresent(ProcessHandle::destroy);
        }
        Tools.Result bad = nbdOsgi("-U", sock + "2", "memory", "1Q");
        assertOneLineError(bad, "memory: size: cannot parse size '1Q'");
    }

    @Test
    public void aBackgroundServerLogsToANewFileInAPrivateDirectoryAndNeverThroughASymlink() throws Exception {
        Path runtime = Distribution.workDir("CommandLineIT/xdg");
        Tools.run(T, "rm", "-rf", runtime.resolve("nbd-osgi").toString(), runtime.resolve("elsewhere").toString()).ok();
        Path sock = runtime.resolve("bg.sock");
        Path pid = runtime.resolve("bg.pid");
        Files.deleteIfExists(sock);
        Tools.Result r = Tools.run(T, Map.of("XDG_RUNTIME_DIR", runtime.toString()),
                List.of(ServerProcess.launcher().toString(), "-U", sock.toString(), "-P", pid.toString(), "memory", "1M"));
        long server = Long.parseLong(Files.readString(pid).trim());
        try {
            assertEquals(r.err(), 0, r.exit());
            Path dir = runtime.resolve("nbd-osgi");
            Path log = dir.resolve("nbd-osgi." + server + ".log");
            assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(log)));
            assertTrue(Files.readString(log), Files.readString(log).contains("nbd-osgi: started, pid " + server));
        } finally {
            ProcessHandle.of(server).ifPresent(ProcessHandle::destroy);
        }
        // someone else's directory in its place: a symbolic link is not followed, the server does not start
        Tools.run(T, "rm", "-rf", runtime.resolve("nbd-osgi").toString()).ok();
        Files.createDirectories(runtime.resolve("elsewhere"));
        Files.createSymbolicLink(runtime.resolve("nbd-osgi"), runtime.resolve("elsewhere"));
        Files.deleteIfExists(sock);
        r = Tools.run(T, Map.of("XDG_RUNTIME_DIR", runtime.toString()),
                List.of(ServerProcess.launcher().toString(), "-U", sock.toString(), "memory", "1M"));
        assertOneLineError(r, "not logging to " + java.util.regex.Pattern.quote(runtime.resolve("nbd-osgi").toString())
                + ": it is not a directory of ours with mode 0700 \\(see --log\\)");
        assertEquals("nothing written through the link", 0, runtime.resolve("elsewhere").toFile().list().length);
        assertFalse(Files.exists(sock));
    }

    @Test
    public void unixSocketIsRemovedOnShutdown() throws Exception {
        Path dir = Distribution.workDir("CommandLineIT/unix");
        ServerProcess s = ServerProcess.unix(dir, "memory", "1M");
        assertTrue(Files.exists(s.socket()));
        assertEquals(0, s.stop());
        assertFalse(Files.exists(s.socket()));
    }

    @Test
    public void containerModeServesTheShippedDefaultExport() throws Exception {
        int port = Tools.freePort();
        Path dir = Distribution.workDir("CommandLineIT/container");
        Path copy = dir.resolve("nbd-osgi");
        // a private copy of the distribution, so its data/ and etc/ are this test's own
        Tools.run(T, "rm", "-rf", copy.toString()).ok();
        Tools.run(T, "cp", "-r", Distribution.home().toString(), copy.toString()).ok();
        ProcessBuilder pb = new ProcessBuilder(copy.resolve("bin/nbd-osgi").toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("container.log").toFile());
        pb.environment().put("NBD_OSGI_JAVA_OPTS", "-Dnbd.listen.port=" + port + " -Dnbd.metrics=" + Tools.freePort());
        Process p = pb.start();
        try {
            String uri = "nbd://127.0.0.1:" + port + "/";
            Tools.Result r = null;
            for (int i = 0; i < 100; i++) {
                r = Tools.run(T, "nbdinfo", "--size", uri);
                if (r.exit() == 0) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(r.err() + Files.readString(dir.resolve("container.log")), "1073741824", r.out().trim());
        } finally {
            p.destroy();
            assertEquals(0, p.waitFor());
        }
    }
}
