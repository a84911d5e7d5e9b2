package org.nbdosgi.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.cli.CommandLine;
import org.nbdosgi.engine.server.TlsMode;

class TlsOptionsTest {
    @Test
    void theCommandLinesTlsOptionsAsTheEngineTakesThem() throws Exception {
        TlsOptions t = TlsOptions.of(CommandLine.parse(List.of("--tls=require", "--tls-certificates", "/pki",
                "--tls-verify-peer", "--tls-psk=/keys.psk", "--tls-authz=/authz", "memory", "1G")));
        assertEquals(new TlsOptions(TlsMode.REQUIRE, Path.of("/pki"), true, Path.of("/keys.psk"), Path.of("/authz")), t);
        assertEquals(TlsMode.OFF, TlsOptions.of(CommandLine.parse(List.of("memory"))).mode());
    }

    @Test
    void tlsSettingsNeedMaterialAndTheAuthorizationFileNeedsTls() {
        TlsOptions none = new TlsOptions(TlsMode.REQUIRE, null, false, null, null);
        if (!Files.isDirectory(TlsOptions.defaultCertificates())) {
            assertTrue(assertThrows(IllegalArgumentException.class, none::settings).getMessage()
                    .startsWith("--tls=require needs --tls-certificates=DIR or --tls-psk=FILE"));
        }
        TlsOptions psk = new TlsOptions(TlsMode.ON, null, false, Path.of("/k.psk"), null);
        assertNull(psk.settings().certificates(), "a PSK alone needs no certificates");
        assertEquals("--tls-authz needs --tls=on or --tls=require", assertThrows(IllegalArgumentException.class,
                () -> new TlsOptions(TlsMode.OFF, null, false, null, Path.of("/a")).settings()).getMessage());
    }
}
