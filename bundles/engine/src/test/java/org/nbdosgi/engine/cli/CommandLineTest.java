package org.nbdosgi.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.nbdosgi.engine.server.TlsMode;

class CommandLineTest {
    @Test
    void nbdkitStyleOptionsBeforeAndAfterThePlugin() throws Exception {
        CommandLine c = CommandLine.parse(List.of("-U", "-", "-r", "-e", "disk", "--filter=delay", "memory", "1G",
                "rdelay=10ms", "--run", "nbdinfo $uri", "-P", "/tmp/pid"));
        assertEquals("-", c.unixSocket());
        assertTrue(c.readOnly());
        assertEquals("disk", c.exportName());
        assertEquals(List.of("delay"), c.filters());
        assertEquals("memory", c.plugin());
        assertEquals(List.of("1G", "rdelay=10ms"), c.params());
        assertEquals("nbdinfo $uri", c.run());
        assertTrue(c.foreground(), "--run implies the foreground");
        assertEquals("/tmp/pid", c.pidFile());
        assertEquals(List.of("--filter=delay", "memory", "1G", "rdelay=10ms"), c.exportArgs());
    }

    @Test
    void longOptionsWithEqualsAndJoinedShortFlags() throws Exception {
        CommandLine c = CommandLine.parse(List.of("--port=10810", "--ip-addr=0.0.0.0", "-fr", "-t8", "memory", "size=1M"));
        assertEquals(10810, c.port());
        assertEquals("0.0.0.0", c.address());
        assertTrue(c.foreground());
        assertTrue(c.readOnly());
        assertEquals(8, c.threads());
        assertNull(c.unixSocket());
    }

    @Test
    void helpAndVersion() throws Exception {
        assertTrue(CommandLine.parse(List.of("--help")).help());
        assertTrue(CommandLine.parse(List.of("memory", "--help")).help());
        assertEquals("memory", CommandLine.parse(List.of("memory", "--help")).plugin());
        assertTrue(CommandLine.parse(List.of("--version")).version());
        assertFalse(CommandLine.parse(List.of("memory", "1G")).foreground());
    }

    @Test
    void mistakesAreOneReadableLine() {
        assertEquals("unknown option '--bogus' (see nbd-osgi --help)",
                assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(List.of("--bogus", "memory"))).getMessage());
        assertEquals("option -p needs a value",
                assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(List.of("memory", "-p"))).getMessage());
        assertEquals("-p: 'x' is not a number",
                assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(List.of("-p", "x", "memory"))).getMessage());
        assertEquals("-p: 70000 is out of range (0..65535)",
                assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(List.of("-p", "70000", "memory"))).getMessage());
        assertEquals("--tls=maybe: expected off, on or require",
                assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(List.of("--tls=maybe", "memory"))).getMessage());
        assertEquals("option --tls-verify-peer takes no value",
                assertThrows(CommandLine.UsageException.class, () -> CommandLine.parse(List.of("--tls-verify-peer=yes", "memory"))).getMessage());
    }

    @Test
    void tlsOptionsAsNbdkitTakesThem() throws Exception {
        CommandLine c = CommandLine.parse(List.of("--tls=require", "--tls-certificates", "/pki", "--tls-verify-peer",
                "--tls-psk=/keys.psk", "--tls-authz=/authz", "memory", "1G"));
        assertEquals(new CommandLine.Tls(TlsMode.REQUIRE, "/pki", true, "/keys.psk", "/authz"), c.tls());
        assertEquals(List.of("memory", "1G"), c.exportArgs());
        assertEquals(TlsMode.ON, CommandLine.parse(List.of("--tls=yes", "memory")).tls().mode(), "a boolean, as nbdkit takes it");
        assertEquals(TlsMode.OFF, CommandLine.parse(List.of("memory")).tls().mode());
    }

    @Test
    void tlsSettingsNeedMaterialAndTheAuthorizationFileNeedsTls() {
        TlsOptions none = new TlsOptions(TlsMode.REQUIRE, null, false, null, null);
        if (!java.nio.file.Files.isDirectory(TlsOptions.defaultCertificates())) {
            assertTrue(assertThrows(IllegalArgumentException.class, none::settings).getMessage()
                    .startsWith("--tls=require needs --tls-certificates=DIR or --tls-psk=FILE"));
        }
        TlsOptions psk = new TlsOptions(TlsMode.ON, null, false, java.nio.file.Path.of("/k.psk"), null);
        assertEquals(null, psk.settings().certificates(), "a PSK alone needs no certificates");
        assertEquals("--tls-authz needs --tls=on or --tls=require", assertThrows(IllegalArgumentException.class,
                () -> new TlsOptions(TlsMode.OFF, null, false, null, java.nio.file.Path.of("/a")).settings()).getMessage());
    }

    @Test
    void captiveUriQuotesPaths() {
        assertEquals("/tmp/my%20dir/a%26b", CliRunner.uriQuote("/tmp/my dir/a&b"));
    }

    @Test
    void theCaptiveUriNamesTheListeningAddress() {
        assertEquals("localhost", CliRunner.uriHost(null));
        assertEquals("127.0.0.1", CliRunner.uriHost("127.0.0.1"));
        assertEquals("[::1]", CliRunner.uriHost("::1"));
        assertEquals("[::1]", CliRunner.uriHost("[::1]"));
        assertEquals("localhost", CliRunner.uriHost("0.0.0.0"), "a wildcard is reached on localhost");
        assertEquals("localhost", CliRunner.uriHost("::"));
        assertEquals("nbd.example.com", CliRunner.uriHost("nbd.example.com"));
    }
}
