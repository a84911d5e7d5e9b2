package org.nbdosgi.plugin.vddk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;


class VddkSettingsTest {
    @TempDir
    Path dir;

    private static VddkSettings parse(String... kv) throws ConfigException {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return VddkSettings.parse(new Config(m));
    }

    private static String error(String... kv) {
        return assertThrows(ConfigException.class, () -> parse(kv)).getMessage();
    }

    @Test
    void aLocalDiskNeedsOnlyAnAbsoluteFile() throws Exception {
        VddkSettings s = parse("file", "/d/disk.vmdk");
        assertFalse(s.remote());
        assertEquals(VddkSettings.DEFAULT_LIBDIR, s.libdir());
        assertEquals(0, s.openFlags(false));
        assertEquals(VixDiskLib.OPEN_READ_ONLY, s.openFlags(true));
        assertEquals("file: a local disk must be an absolute path: 'disk.vmdk'", error("file", "disk.vmdk"));
    }

    @Test
    void aRemoteDiskNamesEveryMissingParameter() {
        assertEquals("a remote disk needs file, server, thumbprint, user, password (or cookie) and vm; missing: thumbprint, vm, password (or cookie)",
                error("file", "[ds] vm/vm.vmdk", "server", "esx", "user", "root"));
        assertTrue(error("file", "[ds] vm/vm.vmdk", "user", "root").contains("missing: server, thumbprint, vm, password (or cookie)"));
    }

    @Test
    void aCompleteRemoteDisk() throws Exception {
        VddkSettings s = parse("file", "[ds] vm/vm.vmdk", "server", "esx", "user", "root", "password", "secret",
                "thumbprint", "aa:bb", "vm", "moref=vm-16", "port", "4443", "single-link", "true", "compression", "zlib");
        assertTrue(s.remote());
        assertEquals(4443, s.port());
        assertEquals(902, s.nfcHostPort());
        assertEquals(VixDiskLib.OPEN_SINGLE_LINK | 16, s.openFlags(false));
        assertEquals("secret", s.password().reveal());
        assertFalse(s.toString().contains("secret"), "the password never shows: " + s);
        assertEquals("vm: expected moref=ID, got 'vm-16'", error("file", "x", "server", "esx", "user", "root",
                "password", "p", "thumbprint", "t", "vm", "vm-16"));
        assertEquals("port: 70000 is not a port number (1-65535)", error("file", "x", "server", "esx", "user", "root",
                "password", "p", "thumbprint", "t", "vm", "moref=1", "port", "70000"));
    }

    @Test
    void aCookieReplacesThePassword() throws Exception {
        VddkSettings s = parse("file", "x", "server", "esx", "user", "root", "cookie", "c00k1e", "thumbprint", "t", "vm", "moref=1");
        assertNull(s.password());
        assertEquals("c00k1e", s.cookie());
    }

    @Test
    void theSecretsNeverShowWhenTheSettingsArePrinted() throws Exception {
        String withPassword = parse("file", "[ds] vm/vm.vmdk", "server", "esx", "user", "root", "password", "pa55word",
                "thumbprint", "aa:bb", "vm", "moref=2").toString();
        assertFalse(withPassword.contains("pa55word"), withPassword);
        assertTrue(withPassword.contains("password=(hidden)") && withPassword.contains("cookie=null"), withPassword);
        String withCookie = parse("file", "[ds] vm/vm.vmdk", "server", "esx", "user", "root", "cookie", "52a1-c00k1e",
                "thumbprint", "aa:bb", "vm", "moref=2").toString();
        assertFalse(withCookie.contains("52a1-c00k1e"), withCookie);
        assertTrue(withCookie.contains("cookie=(hidden)") && withCookie.contains("password=null"), withCookie);
        assertTrue(withCookie.contains("server=esx") && withCookie.contains("user=root")
                && withCookie.contains("thumbprint=aa:bb") && withCookie.contains("vm=moref=2"), "the rest shows: " + withCookie);
    }

    @Test
    void thePasswordAndTheCookieAreSecretsTheEngineReads() {
        assertTrue(VddkSettings.parameters().stream().filter(p -> p.name().equals("password") || p.name().equals("cookie"))
                .allMatch(org.nbdosgi.api.Parameter::secret));
        assertEquals("(password hidden)", new Password("s3cret").toString());
    }

    @Test
    void createNeedsALocalDiskAndASizeInSectors() throws Exception {
        VddkSettings s = parse("file", "/d/new.vmdk", "create", "true", "create-size", "1M", "create-type", "vmfs-thin",
                "create-hwversion", "esx65");
        assertEquals(new CreateParams(CreateParams.DiskType.VMFS_THIN, CreateParams.AdapterType.SCSI_BUSLOGIC, 13, 2048), s.create());
        assertEquals("create-size: this parameter is required with create=true", error("file", "/d/n", "create", "true"));
        assertEquals("create-size: must be a positive multiple of 512, got 1000", error("file", "/d/n", "create", "true", "create-size", "1000"));
        assertEquals("create-size: only used with create=true", error("file", "/d/n", "create-size", "1M"));
        assertTrue(error("file", "/d/n", "create", "true", "create-size", "1M", "create-hwversion", "esx99")
                .startsWith("create-hwversion: 'esx99' is not one of"));
        assertEquals(4, parse("file", "/d/n", "create", "true", "create-size", "1M").create().hwVersion(), "workstation5 by default");
        assertEquals("create: only local disks can be created", error("file", "x", "server", "esx", "user", "root",
                "password", "p", "thumbprint", "t", "vm", "moref=1", "create", "true", "create-size", "1M"));
    }
}
