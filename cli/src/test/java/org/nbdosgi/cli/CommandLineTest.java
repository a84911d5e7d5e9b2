package org.nbdosgi.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class CommandLineTest {
    private static CommandLine parse(String... args) throws CommandLine.UsageException {
        return CommandLine.parse(List.of(args));
    }

    private static String error(String... args) {
        return assertThrows(CommandLine.UsageException.class, () -> parse(args)).getMessage();
    }

    @Test
    void nbdkitStyleOptionsBeforeAndAfterThePlugin() throws Exception {
        CommandLine c = parse("-U", "-", "-r", "-e", "disk", "--filter=delay", "memory", "1G",
                "rdelay=10ms", "--run", "nbdinfo $uri", "-P", "/tmp/pid");
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
        CommandLine c = parse("--port=10810", "--ip-addr=0.0.0.0", "-fr", "-t8", "memory", "size=1M");
        assertEquals(10810, c.port());
        assertEquals("0.0.0.0", c.address());
        assertTrue(c.foreground());
        assertTrue(c.readOnly());
        assertEquals(8, c.threads());
        assertNull(c.unixSocket());
    }

    @Test
    void shortFlagsCombineAsWithGetoptIncludingOneThatTakesAValue() throws Exception {
        CommandLine c = parse("-fv", "memory", "1G");
        assertTrue(c.foreground());
        assertTrue(c.verbose());
        c = parse("-fvp", "10811", "memory", "1G");
        assertEquals(10811, c.port());
        c = parse("-rfU/tmp/s", "memory", "1G");
        assertEquals("/tmp/s", c.unixSocket());
        assertTrue(c.readOnly());
    }

    @Test
    void theLastValueWinsAndTheLastOfMinus4AndMinus6() throws Exception {
        CommandLine c = parse("-p", "1", "-p", "2", "-4", "-6", "memory", "1G");
        assertEquals(2, c.port());
        assertEquals(CommandLine.Family.IPV6, c.family());
        assertEquals(CommandLine.Family.IPV4, parse("-6", "-4", "memory").family());
        assertEquals(CommandLine.Family.ANY, parse("memory").family());
    }

    @Test
    void impliedForeground() throws Exception {
        assertFalse(parse("memory", "1G").foreground());
        assertTrue(parse("--exit-with-parent", "memory", "1G").foreground());
        assertTrue(parse("-s", "memory", "1G").foreground());
        assertTrue(parse("--stdin", "memory", "1G").single());
        assertTrue(parse("--no-fork", "memory", "1G").foreground());
    }

    @Test
    void metricsAddressIsPortOrAddressAndPortAndCheckedAtOnce() throws Exception {
        assertNull(parse("memory", "1G").metrics(), "no metrics unless asked for");
        assertEquals("9810", parse("--metrics=9810", "memory", "1G").metrics());
        assertEquals("0.0.0.0:9811", parse("memory", "1G", "--metrics", "0.0.0.0:9811").metrics());
        assertEquals("[::1]:9812", parse("--metrics=[::1]:9812", "memory").metrics());
        assertEquals("--metrics=:9810: expected [ADDR:]PORT", error("--metrics=:9810", "memory"));
        assertEquals("--metrics: 'x' is not a number", error("--metrics=localhost:x", "memory"));
        assertEquals("--metrics: 70000 is out of range (0..65535)", error("--metrics=70000", "memory"));
        assertTrue(CommandLine.usage().contains("--metrics=[ADDR:]PORT"), "in --help and so in the man page");
    }

    @Test
    void probingQuestions() throws Exception {
        assertTrue(parse("--help").help());
        assertEquals("memory", parse("memory", "--help").plugin());
        assertTrue(parse("--version", "--filter=delay", "null").version());
        assertTrue(parse("--dump-config").probing());
        assertTrue(parse("memory", "--dump-plugin").dumpPlugin());
        assertFalse(parse("memory", "1G").probing());
    }

    @Test
    void debugFlagsLogAndHandshakeMask() throws Exception {
        CommandLine c = parse("-D", "nbdkit.backend.datapath=0", "-Dvddk.stats=1", "--debug=vddk.stats=0x2",
                "--log=null", "--mask-handshake=0", "--no-sr", "memory", "1G");
        assertEquals(Map.of("nbdkit.backend.datapath", 0, "vddk.stats", 2), c.debugFlags());
        assertEquals(CommandLine.Log.NULL, c.log());
        assertEquals(null, parse("memory", "1G").log(), "the mode decides");
        assertEquals(CommandLine.Log.STDERR, parse("-v", "memory", "1G").log(), "nbdkit -v keeps standard error in the background");
        assertEquals(CommandLine.Log.SYSLOG, parse("-v", "--log=syslog", "memory", "1G").log());
        assertEquals(0, c.handshakeMask());
        assertTrue(c.has(CommandLine.Option.MASK_HANDSHAKE));
        assertTrue(c.noStructuredReplies());
        assertEquals(3, parse("--mask-handshake=3", "memory").handshakeMask());
        assertEquals(0xFFFFFFFFL, parse("memory").handshakeMask(), "everything may be offered by default");
    }

    @Test
    void doubleDashEndsTheOptions() throws Exception {
        CommandLine c = parse("-f", "--", "file", "-odd-name");
        assertEquals("file", c.plugin());
        assertEquals(List.of("-odd-name"), c.params());
    }

    @Test
    void mistakesAreOneReadableLine() {
        assertEquals("unknown option '--bogus' (see nbd-osgi --help)", error("--bogus", "memory"));
        assertEquals("unknown option '-z' (see nbd-osgi --help)", error("-fz", "memory"));
        assertEquals("option -p needs a value", error("memory", "-p"));
        assertEquals("-p: 'x' is not a number", error("-p", "x", "memory"));
        assertEquals("--port: 70000 is out of range (0..65535)", error("--port=70000", "memory"));
        assertEquals("option --foreground takes no value", error("--foreground=yes", "memory"));
        assertEquals("--log: 'file' is not one of stderr, syslog, null", error("--log=file", "memory"));
        assertEquals("-D: 'verbose' is not NAME.FLAG=N", error("-D", "verbose", "memory"));
        assertEquals("--mask-handshake: 'all' is not a 32-bit mask", error("--mask-handshake=all", "memory"));
        assertEquals("-s serves standard input: it cannot be combined with -U, -p or -i", error("-s", "-U", "x", "memory"));
        assertEquals("--tls=maybe: expected off, on or require", error("--tls=maybe", "memory"));
        assertEquals("option --tls-verify-peer takes no value", error("--tls-verify-peer=yes", "memory"));
        assertEquals("option --tls-psk needs a value", error("memory", "--tls-psk"));
    }

    @Test
    void tlsOptionsAsNbdkitTakesThem() throws Exception {
        CommandLine c = parse("--tls=require", "--tls-certificates", "/pki", "--tls-verify-peer",
                "--tls-psk=/keys.psk", "--tls-authz=/authz", "memory", "1G");
        assertEquals(CommandLine.Tls.REQUIRE, c.tls());
        assertEquals("/pki", c.tlsCertificates());
        assertTrue(c.tlsVerifyPeer());
        assertEquals("/keys.psk", c.tlsPsk());
        assertEquals("/authz", c.tlsAuthz());
        assertEquals(List.of("memory", "1G"), c.exportArgs());
        assertEquals(CommandLine.Tls.ON, parse("--tls=yes", "memory").tls(), "a boolean, as nbdkit takes it");
        assertEquals(CommandLine.Tls.OFF, parse("--tls=on", "memory", "--tls=off").tls(), "the last given wins");
        CommandLine none = parse("memory");
        assertEquals(CommandLine.Tls.OFF, none.tls());
        assertFalse(none.tlsVerifyPeer());
        assertNull(none.tlsCertificates());
    }

    @Test
    void unsupportedOptionsSaySo() {
        assertTrue(error("-o", "memory").startsWith("oldstyle negotiation is not supported"));
        assertTrue(error("--vsock", "memory").startsWith("--vsock is not supported"));
        assertTrue(error("--selinux-label=x", "memory").startsWith("--selinux-label is not supported"));
        assertTrue(error("--swap", "memory").startsWith("--swap is not supported"));
    }

    @Test
    void usageListsEverySupportedOptionOnce() {
        String usage = CommandLine.usage();
        for (CommandLine.Option o : CommandLine.Option.values()) {
            assertEquals(o.help() != null, usage.contains(o.synopsis()), o.synopsis());
        }
        assertTrue(usage.startsWith("usage: nbd-osgi"));
    }
}
