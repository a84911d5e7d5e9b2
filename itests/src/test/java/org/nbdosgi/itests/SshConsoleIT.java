package org.nbdosgi.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Test;

/**
 * The SSH console with OpenSSH's own client and an Ed25519 key made by ssh-keygen in the test (the
 * default key type of current OpenSSH): the server's host key recorded with ssh-keyscan and checked
 * strictly; commands, a pipe and a rewire over ssh; nbd-osgi-client -h; a config:edit that rewires
 * an export as an edited file does; an interactive session with a terminal (ssh -tt) that exit
 * leaves while the server runs on.
 */
public class SshConsoleIT {
    private Path key;
    private Path knownHosts;
    private int port;

    /** ssh's options: our key only, the recorded host key only, never a question. */
    private List<String> sshOptions() {
        return List.of("-p", Integer.toString(port), "-i", key.toString(), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "LogLevel=ERROR");
    }

    private Tools.Result ssh(String command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ssh", "-T"));
        cmd.addAll(sshOptions());
        cmd.addAll(List.of("alice@127.0.0.1", command));
        return Tools.run(Duration.ofSeconds(60), Map.of(), cmd);
    }

    @Test
    public void commandsPipesARewireConfigEditAndATerminalSessionOverSsh() throws Exception {
        Tools.require("ssh");
        Tools.require("ssh-keygen");
        Tools.require("ssh-keyscan");
        Path dir = Files.createTempDirectory("nbdit");
        key = dir.resolve("id_ed25519");
        knownHosts = dir.resolve("known_hosts");
        Tools.run(Duration.ofSeconds(30), "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.toString()).ok();
        port = Tools.freePort();
        try (Instance nbd = Instance.copy(dir)) {
            Files.writeString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"), "name = scratch\nplugin = memory\nsize = 1M\n");
            Files.writeString(nbd.etc().resolve("keys.properties"), "alice = " + Files.readString(dir.resolve("id_ed25519.pub")));
            Files.writeString(nbd.etc().resolve("users.properties"), "carol = clear-text\n");
            nbd.start("-Dnbd.ssh.port=" + port);
            nbd.awaitLog(Duration.ofSeconds(30), "SSH console on 127.0.0.1:" + port, 1);

            String users = Files.readString(nbd.etc().resolve("users.properties"));
            assertTrue("the clear password is stored hashed:\n" + users, users.contains("carol={pbkdf2}") && !users.contains("clear-text"));
            for (String secret : List.of("users.properties", "keys.properties", "host.key")) {
                assertEquals(secret, "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(nbd.etc().resolve(secret))));
            }
            Tools.Result scan = Tools.run(Duration.ofSeconds(30), "ssh-keyscan", "-p", Integer.toString(port), "127.0.0.1").ok();
            assertTrue("the host key:\n" + scan.out(), scan.out().contains("[127.0.0.1]:" + port + " ecdsa-sha2-nistp256 "));
            Files.writeString(knownHosts, scan.out());

            Tools.Result exports = ssh("nbd:exports | grep scratch").ok();
            assertTrue(exports.out(), exports.out().contains("scratch") && exports.out().contains("memory") && !exports.out().contains("NAME"));
            assertFalse("no colours without a terminal: " + exports.out(), exports.out().contains("\u001b"));
            String local = nbd.client("nbd:exports | grep scratch").ok().out();
            assertTrue(local, local.contains("scratch") && !local.contains("\u001b"));    // nor through the console socket
            assertTrue(ssh("nbd:filter-insert scratch delay").ok().out().contains("export scratch rewired: --filter=delay memory"));
            Tools.Result failed = ssh("nbd:chain nope");
            assertEquals(1, failed.exit());
            assertEquals("nbd-osgi: no export named nope", failed.err().strip());
            String update = ssh("update --help").ok().out();
            assertTrue("a plain update is the bundle's:\n" + update, update.startsWith("bundle:update - "));

            // config:edit starts from ConfigurationAdmin's copy, which FileInstall brings up to date with the file
            // the console wrote within its poll interval
            nbd.awaitOutput(Duration.ofSeconds(30), "filters = delay", "config:list", "org.nbdosgi.export~scratch");
            // a remote instance through nbd-osgi-client -h (ssh with the recorded host key), a script with -f
            Path script = dir.resolve("script.gosh");
            Files.writeString(script, "config:edit org.nbdosgi.export~scratch\nconfig:property-set size 2M\nconfig:update\n");
            Tools.Result viaClient = Tools.run(Duration.ofSeconds(60), Map.of(), List.of(
                    nbd.home().resolve("bin/nbd-osgi-client").toString(), "-h", "127.0.0.1", "-p", Integer.toString(port),
                    "-u", "alice", "-i", key.toString(), "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
                    "-o", "BatchMode=yes", "-f", script.toString())).ok();
            assertTrue(viaClient.out(), viaClient.out().contains("org.nbdosgi.export~scratch updated"));
            nbd.awaitOutput(Duration.ofSeconds(30), "--filter=delay memory size=2M", "nbd:exports");
            String file = Files.readString(nbd.etc().resolve("org.nbdosgi.export-scratch.cfg"));
            assertTrue("config:update writes the export's file:\n" + file, file.contains("size = 2M"));

            terminalSession(nbd);
            assertEquals("the server runs on after the sessions", 0, nbd.client("nbd:exports").exit());
            String log = nbd.log();
            assertFalse("no stack traces from the SSH sessions:\n" + log, log.contains("at org.jline") || log.contains("at org.apache.sshd"));
            assertEquals("one line per login (6 sessions):\n" + log, 6, Instance.count(log, "SSH console: alice logged in from"));
        }
    }

    /** ssh -tt, as a user at a terminal: the prompt, completion, a command, a failure, Ctrl-C, exit. */
    private void terminalSession(Instance nbd) throws Exception {
        String command = "ssh -tt " + String.join(" ", sshOptions()) + " alice@127.0.0.1";
        try (PseudoTerminal t = new PseudoTerminal(command, Map.of())) {
            int at = t.await(Duration.ofSeconds(30), 0, "nbd-osgi> ");
            assertTrue(t.text(), t.text().contains("exit, logout or Ctrl-D leaves; the server runs on"));
            t.type("nbd:exp\t");
            for (String candidate : new String[] {"nbd:export-add", "nbd:export-remove", "nbd:export-set", "nbd:exports"}) {
                t.await(Duration.ofSeconds(10), at, candidate);
            }
            t.type("\u0015nbd:chain scr\t");
            at = t.await(Duration.ofSeconds(10), at, ":chain scratch ");
            t.type("\r");
            at = t.await(Duration.ofSeconds(10), at, "LAYER");
            at = t.await(Duration.ofSeconds(10), at, "delay");
            t.type("nbd:chain nope\r");
            at = t.await(Duration.ofSeconds(10), at, "no export named nope");
            t.type("log:tail -n 1\r");
            at = t.await(Duration.ofSeconds(10), at, "[INFO]");
            t.type("\u0003");                          // Ctrl-C stops the command, not the session
            at = t.await(Duration.ofSeconds(10), at, "nbd-osgi> ");
            t.type("exit\r");
            assertTrue("exit ends the session:\n" + t.text(), t.process().waitFor(30, TimeUnit.SECONDS));
            assertEquals(t.text(), 0, t.process().exitValue());
        }
    }
}
