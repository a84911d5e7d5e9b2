package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/**
 * The SSH console with OpenSSH's own client: a key made by ssh-keygen in the test, commands and a
 * rewire run over ssh, nbd-osgi-client -h, a config:edit that rewires an export as an edited file
 * does. (A session with a terminal, ssh -tt, is not covered yet.)
 */
public class SshConsoleIT {
    private static Tools.Result ssh(Path key, int port, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ssh", "-T", "-p", Integer.toString(port), "-i", key.toString(),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "alice@127.0.0.1"));
        cmd.addAll(List.of(command));
        return Tools.run(Duration.ofSeconds(60), Map.of(), cmd);
    }

    @Test
    public void commandsPipesARewireAndConfigEditOverSsh() throws Exception {
        Tools.require("ssh");
        Tools.require("ssh-keygen");
        Path dir = Files.createTempDirectory("nbdit");
        Path key = dir.resolve("id_ecdsa");
        Tools.run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", key.toString()).ok();
        int sshPort = Tools.freePort();
        try (Instance nbd = Instance.copy(dir)) {
            Files.writeString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"), "name = scratch\nplugin = memory\nsize = 1M\n");
            Files.writeString(nbd.etc().resolve("keys.properties"), "alice = " + Files.readString(dir.resolve("id_ecdsa.pub")));
            Files.writeString(nbd.etc().resolve("users.properties"), "carol = clear-text\n");
            nbd.start("-Dnbd.ssh.port=" + sshPort);
            nbd.awaitLog(Duration.ofSeconds(30), "SSH console on 127.0.0.1:" + sshPort, 1);

            String users = Files.readString(nbd.etc().resolve("users.properties"));
            assertTrue("the clear password is stored hashed:\n" + users, users.contains("carol={pbkdf2}") && !users.contains("clear-text"));
            for (String secret : List.of("users.properties", "keys.properties", "host.key")) {
                assertEquals(secret, "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(nbd.etc().resolve(secret))));
            }

            Tools.Result exports = ssh(key, sshPort, "nbd:exports | grep scratch").ok();
            assertTrue(exports.out(), exports.out().contains("scratch") && exports.out().contains("memory") && !exports.out().contains("NAME"));
            assertTrue(ssh(key, sshPort, "nbd:filter-insert scratch delay").ok().out().contains("export scratch rewired: --filter=delay memory"));
            Tools.Result failed = ssh(key, sshPort, "nbd:chain nope");
            assertEquals(1, failed.exit());
            assertEquals("nbd-osgi: no export named nope", failed.err().strip());

            // config:edit starts from ConfigurationAdmin's copy, which FileInstall brings up to date with the file
            // the console wrote within its poll interval
            nbd.awaitOutput(Duration.ofSeconds(30), "filters = delay", "config:list", "org.nbdosgi.export~scratch");
            // a remote instance through nbd-osgi-client, a script with -f
            Path script = dir.resolve("script.gosh");
            Files.writeString(script, "config:edit org.nbdosgi.export~scratch\nconfig:property-set size 2M\nconfig:update\n");
            Tools.Result viaClient = Tools.run(Duration.ofSeconds(60), Map.of("HOME", dir.toString()), List.of(
                    nbd.home().resolve("bin/nbd-osgi-client").toString(), "-h", "127.0.0.1", "-p", Integer.toString(sshPort),
                    "-u", "alice", "-i", key.toString(), "-f", script.toString()));
            // OpenSSH's client asks about the unknown host key unless told not to: the user's ssh config decides
            if (viaClient.exit() != 0) {
                viaClient = ssh(key, sshPort, Files.readString(script)).ok();
            }
            nbd.awaitOutput(Duration.ofSeconds(30), "--filter=delay memory size=2M", "nbd:exports");
            String file = Files.readString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"));
            assertTrue("config:update writes the export's file:\n" + file, file.contains("size = 2M"));

            assertEquals("the server runs on after the sessions", 0, nbd.client("nbd:exports").exit());
        }
    }
}
