package org.nbdosgi.plugin.nbd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;

class NbdSettingsTest {
    static NbdSettings parse(String... kv) throws ConfigException {
        Map<String, String> m = new LinkedHashMap<>();
        for (String s : kv) {
            m.put(s.substring(0, s.indexOf('=')), s.substring(s.indexOf('=') + 1));
        }
        return NbdSettings.parse(new Config(m));
    }

    static String error(String... kv) {
        return assertThrows(ConfigException.class, () -> parse(kv)).getMessage();
    }

    @Test
    void exactlyOneUpstreamAndTheOptionsThatGoWithIt() throws Exception {
        assertEquals("give the upstream server: uri=, socket= or hostname=", error());
        assertEquals("give only one of uri=, socket= and hostname=", error("uri=nbd://a/", "socket=/s"));
        assertEquals("port: only with hostname= (a URI names its own port)", error("socket=/s", "port=1"));
        assertEquals("export: not with uri= (the URI names the export)", error("uri=nbd://a/x", "export=y"));
        assertEquals("export: not with dynamic-export=true", error("socket=/s", "export=y", "dynamic-export=true"));
        assertEquals("connections: must be between 1 and 64: 0", error("socket=/s", "connections=0"));
        assertEquals("tls: 'maybe' is not one of off|on|require", error("socket=/s", "tls=maybe"));
        assertEquals("tls: other tls options need tls=on or tls=require", error("socket=/s", "tls=off", "tls-username=a"));
        assertEquals("hostname:10809", parse("hostname=hostname").target());
        assertEquals(NbdSettings.Tls.ON, parse("socket=/s", "tls-username=alice").tls());
        assertEquals(NbdSettings.Tls.OFF, parse("socket=/s").tls());
    }

    @Test
    void aDynamicExportReplacesTheUrisExportPercentEncoded() {
        assertEquals("nbd://h:10809/new%20disk?tls-certificates=/c", NbdSettings.withExport("nbd://h:10809/old?tls-certificates=/c", "new disk"));
        assertEquals("nbd://h/a/b", NbdSettings.withExport("nbd://h", "a/b"));
        assertEquals("nbd+unix:///x?socket=/run/up.sock", NbdSettings.withExport("nbd+unix:///?socket=/run/up.sock", "x"));
        assertEquals("nbd+unix:///x?socket=/run/up.sock", NbdSettings.withExport("nbd+unix://?socket=/run/up.sock", "x"));
    }

    @Test
    void blockSizesTheServerDoesNotAdvertiseAreTheProtocolsDefaults() {
        assertEquals(BlockSize.DEFAULT, Upstream.blockSize(0, 0, 0));
        assertEquals(new BlockSize(512, 4096, BlockSize.MAX_PAYLOAD), Upstream.blockSize(512, 4096, 0xffffffffL));
        assertEquals(new BlockSize(4096, 4096, 2 << 20), Upstream.blockSize(4096, 0, 2 << 20));
    }
}
