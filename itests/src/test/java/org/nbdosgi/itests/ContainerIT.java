package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import org.junit.Test;

/**
 * Container mode (a copy of the distribution started without arguments) as an outside review found
 * it: which export an unknown name reaches, what the instance directory is protected against,
 * where secrets go.
 */
public class ContainerIT {
    private static final Duration T = Duration.ofSeconds(120);

    private static Instance instance(String name) throws Exception {
        return Instance.copy(Distribution.workDir("ContainerIT/" + name));
    }

    /**
     * Issue 13 item 12: a mistyped export name is refused (and logged) rather than served the
     * shipped memory disk; an export configured {@code catchall = true} serves every name, as the
     * command line's one export does.
     */
    @Test
    public void unknownNamesAreRefusedUnlessAnExportIsConfiguredAsTheCatchAll() throws Exception {
        try (Instance nbd = instance("catch-all")) {
            nbd.start();
            Tools.run(T, "nbdinfo", "--size", nbd.uri("")).ok();
            Tools.Result typo = Tools.run(T, "nbdinfo", "--size", nbd.uri("typo"));
            assertNotEquals(typo.out(), 0, typo.exit());
            assertTrue(typo.err(), typo.err().contains("No such file or directory") || typo.err().contains("unknown"));
            nbd.awaitLog(T, "no export named 'typo'", 1);

            Path cfg = nbd.etc().resolve("org.nbdosgi.export-default.cfg");
            Files.writeString(cfg, Files.readString(cfg) + "catchall = true\n");
            long deadline = System.nanoTime() + T.toNanos();
            Tools.Result served;
            do {
                Thread.sleep(200);
                served = Tools.run(T, "nbdinfo", "--size", nbd.uri("typo"));
            } while (served.exit() != 0 && System.nanoTime() < deadline);
            assertEquals(served.err(), "1073741824\n", served.out());

            nbd.client("nbd:export-set", "\"\"", "size=2G").ok();
            assertTrue("a console change keeps the file's catchall line", Files.readString(cfg).contains("catchall = true"));
            Tools.Result second = nbd.client("nbd:export-add", "--catch-all", "other", "memory", "1M");
            assertEquals("nbd-osgi: export '' already serves every unknown name (one catch-all export at most)\n", second.err());
        }
    }

    /**
     * Issue 13 item 9: the console writes a secret to etc/ as it was given (the +FILE reference,
     * never the value read) in a file only the server's user can read, and the value shows in no
     * console output and no log line. The vddk plugin's password, against the VDDK stand-in.
     */
    @Test
    public void secretsAreStoredAsGivenInPrivateFilesAndNeverShown() throws Exception {
        try (Instance nbd = instance("secrets")) {
            nbd.start();
            Path dir = Distribution.workDir("ContainerIT/secret-files");
            Path disk = dir.resolve("disk.img");
            Files.write(disk, new byte[1 << 20]);
            Path conf = VddkInteropIT.config(dir, "standin.password=s3cret-pw");
            Path pw = dir.resolve("pw");
            Files.writeString(pw, "s3cret-pw\n");
            List<String> vddk = List.of("vddk", "file=" + disk, "libdir=" + VddkInteropIT.standInLibdir(), "config=" + conf,
                    "server=esx", "thumbprint=AB", "user=root", "vm=moref=1");
            nbd.client(args("nbd:export-add", "byref", vddk, "password=+" + pw)).ok();
            nbd.client(args("nbd:export-add", "literal", vddk, "password=s3cret-pw")).ok();
            for (String name : List.of("byref", "literal")) {
                Path cfg = nbd.etc().resolve("org.nbdosgi.export-" + name + ".cfg");
                assertEquals(name, "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cfg)));
            }
            String byref = Files.readString(nbd.etc().resolve("org.nbdosgi.export-byref.cfg"));
            assertTrue(byref, byref.contains("password = +" + pw) && !byref.contains("s3cret-pw"));
            assertEquals("1048576\n", Tools.run(T, "nbdinfo", "--size", nbd.uri("byref")).ok().out());
            String shown = nbd.client("nbd:exports").ok().out() + nbd.client("nbd:chain", "literal").ok().out()
                    + nbd.client("nbd:chain", "byref").ok().out();
            assertTrue(shown, shown.contains("password=***"));
            assertFalse(shown, shown.contains("s3cret-pw"));
            Tools.Result stdin = nbd.client(args("nbd:export-add", "stdin", vddk, "password=-"));
            assertEquals(stdin.out(), 1, stdin.exit());
            assertTrue(stdin.err(), stdin.err().contains("password: '-' reads standard input of the command line"));
            long deadline = System.nanoTime() + T.toNanos();        // FileInstall hands etc/ to ConfigAdmin, which keeps a copy
            while (holding(nbd.home(), "s3cret-pw").stream().noneMatch(f -> f.startsWith(nbd.home().resolve("data")))
                    && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            nbd.stop();
            assertFalse(nbd.log(), nbd.log().contains("s3cret-pw"));
            List<Path> holding = holding(nbd.home(), "s3cret-pw");
            assertTrue(holding.toString(), holding.contains(nbd.etc().resolve("org.nbdosgi.export-literal.cfg")));
            assertEquals("files holding the password that another user can read (ConfigAdmin keeps a copy in data/cache)",
                    List.of(), holding.stream().filter(f -> readableByOthers(nbd.home(), f)).toList());
        }
    }

    /** The files under {@code home} that contain {@code text}. */
    private static List<Path> holding(Path home, String text) throws java.io.IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(home)) {
            return files.filter(Files::isRegularFile).filter(f -> {
                try {
                    return new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1).contains(text);
                } catch (java.io.IOException e) {
                    return false;                                   // gone while the server runs
                }
            }).toList();
        }
    }

    /** Whether a user other than the owner may read {@code file}: it and every directory from {@code home} down allow others. */
    private static boolean readableByOthers(Path home, Path file) {
        try {
            for (Path d = file.getParent(); d.startsWith(home); d = d.getParent()) {
                if (!Files.getPosixFilePermissions(d).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            }
            return Files.getPosixFilePermissions(file).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String[] args(String command, String name, List<String> chain, String more) {
        List<String> out = new java.util.ArrayList<>(List.of(command, name));
        out.addAll(chain);
        out.add(more);
        return out.toArray(new String[0]);
    }

    /**
     * Issue 13 item 11: a second container started in the same directory fails at once with one
     * line naming the running process, and touches nothing: the first keeps serving, its export is
     * not started twice, its console socket and bundle cache stay.
     */
    @Test
    public void aSecondStartInTheSameDirectoryFailsAndTouchesNothing() throws Exception {
        try (Instance nbd = instance("twice")) {
            nbd.start();
            long before = Files.list(nbd.home().resolve("data/cache")).count();
            ProcessBuilder pb = new ProcessBuilder(nbd.home().resolve("bin/nbd-osgi").toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            pb.environment().put("NBD_OSGI_JAVA_OPTS", "-Dnbd.listen.port=" + Tools.freePort());
            Process second = pb.start();
            assertTrue("the second start ends at once", second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            String err = new String(second.getErrorStream().readAllBytes());
            assertEquals(err, 1, second.exitValue());
            assertEquals("nbd-osgi: " + nbd.home() + " is already running as process " + nbd.pid() + " (one container per directory)\n", err);
            assertTrue(Files.exists(nbd.home().resolve("data/console.sock")));
            assertEquals(before, Files.list(nbd.home().resolve("data/cache")).count());
            nbd.client("nbd:exports").ok();
            assertEquals("1073741824\n", Tools.run(T, "nbdinfo", "--size", nbd.uri("")).ok().out());
            assertEquals(nbd.log(), 1, Instance.count(nbd.log(), "export '' started"));
        }
    }
}
