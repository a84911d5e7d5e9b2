package org.nbdosgi.api.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

class ExportSpecTest {
    @Test
    void parsesNbdkitSyntax() throws Exception {
        ExportSpec s = ExportSpec.parse("disk", true, List.of("--filter=stats", "--filter", "delay", "file", "/a=b.img",
                "rdelay=10ms", "statsfile=/tmp/s"));
        assertEquals(List.of("stats", "delay"), s.filters());
        assertEquals("file", s.plugin());
        assertEquals(Map.of(ExportSpec.MAGIC_KEY, "/a=b.img", "rdelay", "10ms", "statsfile", "/tmp/s"), s.params());
        assertEquals(List.of("--filter=stats", "--filter=delay", "file", "/a=b.img", "rdelay=10ms", "statsfile=/tmp/s"), s.toArgs());
        assertEquals(s, ExportSpec.parse("disk", true, s.toArgs()));
    }

    @Test
    void secretsAreMaskedWhenDescribed() throws Exception {
        ExportSpec s = ExportSpec.parse("v", false, List.of("vddk", "file=[ds] vm.vmdk", "password=hunter2", "cookie=abc", "user=root"));
        assertEquals("vddk file=[ds] vm.vmdk password=*** cookie=*** user=root", s.describe());
        assertEquals("vddk file=[ds] vm.vmdk password=*** cookie=*** user=***",
                s.describe(java.util.List.of(Parameter.secret("login", "the user").withAliases("user"))),
                "a parameter its layer declares secret is masked whatever its name");
        assertEquals("password=hunter2", s.toArgs().get(2));
    }

    @Test
    void aKeyGivenAgainKeepsEveryValueForTheEngineToJudge() throws Exception {
        ExportSpec s = ExportSpec.parse("h", false, List.of("http", "http://x/d", "header=A: 1", "cookie=c1", "header=B: 2", "cookie=c2"));
        assertEquals("A: 1\nB: 2", s.params().get("header"));
        assertEquals(List.of("http", "http://x/d", "header=A: 1", "header=B: 2", "cookie=c1", "cookie=c2"), s.toArgs());
        assertEquals("http http://x/d header=A: 1 header=B: 2 cookie=*** cookie=***", s.describe());
        assertEquals(s, ExportSpec.parse("h", false, s.toArgs()));
    }

    @Test
    void aKeyGivenAgainMovesToWhereItWasLastGiven() throws Exception {
        // endpoint and endpoint-url may name one parameter: the engine takes the later of the two
        ExportSpec s = ExportSpec.parse("", false, List.of("s3", "endpoint=a", "endpoint-url=b", "endpoint=c"));
        assertEquals(List.of("endpoint-url", "endpoint"), List.copyOf(s.params().keySet()));
        assertEquals("a\nc", s.params().get("endpoint"));
    }

    @Test
    void refusesWhatItCannotRead() {
        assertEquals("no plugin given", assertThrows(ConfigException.class, () -> ExportSpec.parse("", false, List.of())).getMessage());
        assertThrows(ConfigException.class, () -> ExportSpec.parse("", false, List.of("memory", "1G", "2G")));
        assertThrows(ConfigException.class, () -> ExportSpec.parse("", false, List.of("--bogus", "memory")));
        assertThrows(ConfigException.class, () -> ExportSpec.parse("", false, List.of("--filter")));
        assertThrows(ConfigException.class, () -> ExportSpec.parse("", false, List.of("mem/ory")));
    }
}
