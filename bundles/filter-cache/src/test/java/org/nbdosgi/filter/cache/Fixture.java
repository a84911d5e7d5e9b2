package org.nbdosgi.filter.cache;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.nbdosgi.api.ClientContext;
import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.ExportContext;
import org.nbdosgi.api.Handle;
import org.nbdosgi.testkit.RamDisk;

/** A cache filter instance over a {@link RamDisk}, with helpers to talk to it as a client would. */
final class Fixture implements AutoCloseable {
    static final ClientContext CLIENT = new ClientContext("", false, "test", 1);

    final RamDisk disk;
    final CacheInstance instance;

    Fixture(Path tmp, int size, String... params) throws ConfigException {
        this(tmp, new RamDisk(size), params);
    }

    Fixture(Path tmp, RamDisk disk, String... params) throws ConfigException {
        this.disk = disk;
        this.instance = CacheInstance.create(options(tmp, params), new ExportContext("test", false), disk);
    }

    static CacheOptions options(Path tmp, String... params) throws ConfigException {
        Map<String, String> map = new LinkedHashMap<>();
        for (String p : params) {
            int eq = p.indexOf('=');
            map.put(p.substring(0, eq), p.substring(eq + 1));
        }
        return CacheOptions.from(new Config(map), tmp.toString());
    }

    Handle open() throws Exception {
        return instance.open(CLIENT);
    }

    static void write(Handle h, long offset, byte[] data, int flags) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(data.length).put(data).flip();
        h.write(b, offset, flags);
    }

    static byte[] read(Handle h, long offset, int length) throws Exception {
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        h.read(b, offset, 0);
        byte[] out = new byte[length];
        b.get(0, out);
        return out;
    }

    static byte[] pattern(long seed, int length) {
        byte[] b = new byte[length];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    /** What the (unlinked) cache files in {@code tmp} take on disk, from st_blocks, as a user would measure it. */
    static long allocatedBytes(Path tmp) throws Exception {
        long total = 0;
        java.util.Set<String> seen = new java.util.HashSet<>();
        try (var fds = java.nio.file.Files.list(Path.of("/proc/" + ProcessHandle.current().pid() + "/fd"))) {
            for (Path fd : fds.toList()) {
                String target;
                try {
                    target = java.nio.file.Files.readSymbolicLink(fd).toString();
                } catch (java.io.IOException gone) {
                    continue;
                }
                if (target.startsWith(tmp + "/nbd-osgi-cache-") && seen.add(target)) {
                    Process p = new ProcessBuilder("stat", "-L", "-c", "%b %B", fd.toString()).start();
                    String[] out = new String(p.getInputStream().readAllBytes()).trim().split(" ");
                    p.waitFor();
                    total += Long.parseLong(out[0]) * Long.parseLong(out[1]);
                }
            }
        }
        return total;
    }

    @Override
    public void close() {
        instance.close();
    }
}
