package org.nbdosgi.engine.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.admin.ExportSpec;

class ConfiguredExportTest {
    @Test
    void aConfigurationFileDescribesAnExport() throws Exception {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("service.pid", "org.nbdosgi.export.1234");
        p.put("felix.fileinstall.filename", "file:/srv/etc/org.nbdosgi.export-scratch.cfg");
        p.put("plugin", "memory");
        p.put("filters", "stats, delay");
        p.put("size", "1G");
        p.put("rdelay", "5ms");
        p.put("readonly", "true");
        ExportSpec s = ConfiguredExport.specOf(p);
        assertEquals("scratch", s.name());
        assertEquals(List.of("stats", "delay"), s.filters());
        assertEquals(Map.of("size", "1G", "rdelay", "5ms"), s.params());
        assertTrue(s.readOnly());
    }

    @Test
    void anExplicitNameWinsAndAPluginIsRequired() throws Exception {
        assertEquals("", ConfiguredExport.specOf(Map.of("name", "", "plugin", "memory", "size", "1M",
                "felix.fileinstall.filename", "x/org.nbdosgi.export-default.cfg")).name());
        assertEquals("no 'plugin' key", assertThrows(ConfigException.class, () -> ConfiguredExport.specOf(Map.of("size", "1G"))).getMessage());
    }
}
