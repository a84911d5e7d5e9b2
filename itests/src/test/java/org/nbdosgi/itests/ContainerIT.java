package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

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
}
