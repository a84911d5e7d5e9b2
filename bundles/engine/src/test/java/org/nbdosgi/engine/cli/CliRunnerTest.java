package org.nbdosgi.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CliRunnerTest {
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

    @Test
    void exportNamesInTheUriAreQuotedAsNbdkitDoes() {
        assertEquals("/disks/disk.raw", CliRunner.quote("/disks/disk.raw"), "slashes stay (nbd+unix:////disks/...)");
        assertEquals("a%20b%3Fc", CliRunner.quote("a b?c"));
        assertEquals("%C3%A9", CliRunner.quote("\u00e9"));
        assertEquals("/tmp/my%20dir/a%26b", CliRunner.quote("/tmp/my dir/a&b"), "a tls-certificates= path in the query");
    }
}
