package org.nbdosgi.plugin.vddk;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.nbdosgi.api.Config;
import org.nbdosgi.api.ConfigException;
import org.nbdosgi.api.Parameter;

/**
 * The vddk plugin's parameters, checked: a local absolute file, or a remote disk with everything a
 * remote connection needs. Control plane (export start). The password is resolved here, once.
 * Neither the password nor the cookie ever shows in {@link #toString()}.
 *
 * @param config  VDDK's own configuration file, or null
 * @param vm      the vmxSpec, {@code moref=ID}
 * @param create  the disk to create before serving it, or null
 */
record VddkSettings(String file, Path libdir, String config, String server, String user, Password password,
                    String cookie, String thumbprint, String vm, String snapshot, String transports, int port,
                    int nfcHostPort, boolean singleLink, boolean unbuffered, Compression compression,
                    CreateParams create, boolean stats) {

    static final Path DEFAULT_LIBDIR = Path.of("/usr/lib/vmware-vix-disklib");

    /** Network compression between VDDK and the server (open flags). */
    enum Compression {
        NONE(0), ZLIB(16), FASTLZ(32), SKIPZ(64);

        final int flag;

        Compression(int flag) {
            this.flag = flag;
        }
    }

    private static final List<String> REMOTE_KEYS = List.of("server", "user", "password", "cookie", "thumbprint", "vm",
            "port", "nfchostport");

    static List<Parameter> parameters() {
        return List.of(
                Parameter.required("file", "the disk: an absolute path to a local .vmdk, or \"[datastore] vm/vm.vmdk\" on a server"),
                Parameter.of("libdir", "the unpacked VDDK distribution (default " + DEFAULT_LIBDIR + ")"),
                Parameter.of("config", "VDDK's configuration file"),
                Parameter.of("server", "ESXi or vCenter host name: serve a remote disk"),
                Parameter.of("user", "user name on the server"),
                Parameter.secret("password", "PASSWORD, - (standard input), +FILE or -FD (read from a file or descriptor)"),
                Parameter.secret("cookie", "vmware_soap_session cookie of an existing session (instead of the password)"),
                Parameter.of("thumbprint", "SHA1 thumbprint of the server's certificate, xx:xx:...:xx"),
                Parameter.of("vm", "the virtual machine, moref=ID"),
                Parameter.of("snapshot", "managed object reference of a snapshot to read"),
                Parameter.of("transports", "transport modes to try, e.g. nbd:nbdssl:san:hotadd:file"),
                Parameter.of("port", "server port (default 443)"),
                Parameter.of("nfchostport", "NFC port on ESXi (default 902)"),
                Parameter.of("single-link", "true: open only this link of the disk chain (holes may then show the parent's data)"),
                Parameter.of("unbuffered", "true: disable host caching"),
                Parameter.of("compression", "none|zlib|fastlz|skipz: compression over the network (default none)"),
                Parameter.of("create", "true: create the local disk at export start (needs create-size)"),
                Parameter.of("create-size", "virtual size of the disk to create, a multiple of 512"),
                Parameter.of("create-type", "monolithic-sparse (default)|monolithic-flat|split-sparse|split-flat|vmfs-flat|stream-optimized|vmfs-thin|vmfs-sparse"),
                Parameter.of("create-adapter-type", "ide|scsi-buslogic (default)|scsi-lsilogic"),
                Parameter.of("create-hwversion", "workstation4|workstation5 (default)|workstation6|esx30|esx4x|esx50|esx51|esx55|esx60|esx65 or a number"),
                Parameter.of("stats", "true: log the time spent in each VDDK function when the export stops"),
                Parameter.of("vimapiver", "ignored, accepted for compatibility"));
    }

    static VddkSettings parse(Config c) throws ConfigException {
        String file = c.require("file");
        boolean remote = REMOTE_KEYS.stream().anyMatch(c::has);
        if (remote) {
            requireRemote(c);
        } else if (!file.startsWith("/")) {
            throw new ConfigException("file: a local disk must be an absolute path: '" + file + "'");
        }
        String vm = c.get("vm", null);
        if (vm != null && !vm.startsWith("moref=")) {
            throw new ConfigException("vm: expected moref=ID, got '" + vm + "'");
        }
        int port = port(c, "port", 443);
        int nfc = port(c, "nfchostport", 902);
        CreateParams create = null;
        if (c.bool("create", false)) {
            if (remote) {
                throw new ConfigException("create: only local disks can be created");
            }
            create = createParams(c);
        } else {
            for (String k : List.of("create-size", "create-type", "create-adapter-type", "create-hwversion")) {
                if (c.has(k)) {
                    throw new ConfigException(k + ": only used with create=true");
                }
            }
        }
        Password password = c.has("password") ? new Password(c.get("password", "")) : null;
        return new VddkSettings(file, Path.of(c.get("libdir", DEFAULT_LIBDIR.toString())), c.get("config", null),
                c.get("server", null), c.get("user", null), password, c.get("cookie", null), c.get("thumbprint", null),
                vm, c.get("snapshot", null), c.get("transports", null), port, nfc, c.bool("single-link", false),
                c.bool("unbuffered", false), c.choice("compression", Compression.class, Compression.NONE), create,
                c.bool("stats", false));
    }

    private static void requireRemote(Config c) throws ConfigException {
        List<String> missing = new ArrayList<>();
        for (String k : List.of("server", "thumbprint", "user", "vm")) {
            if (c.get(k, "").isEmpty()) {
                missing.add(k);
            }
        }
        if (c.get("password", "").isEmpty() && c.get("cookie", "").isEmpty()) {
            missing.add("password (or cookie)");
        }
        if (!missing.isEmpty()) {
            throw new ConfigException("a remote disk needs file, server, thumbprint, user, password (or cookie) and vm; missing: "
                    + String.join(", ", missing));
        }
    }

    private static int port(Config c, String key, int dflt) throws ConfigException {
        int p = c.integer(key, dflt);
        if (p < 1 || p > 65535) {
            throw new ConfigException(key + ": " + p + " is not a port number (1-65535)");
        }
        return p;
    }

    private static CreateParams createParams(Config c) throws ConfigException {
        if (!c.has("create-size")) {
            throw new ConfigException("create-size: this parameter is required with create=true");
        }
        long size = c.size("create-size", 0);
        if (size <= 0 || size % VixDiskLib.SECTOR != 0) {
            throw new ConfigException("create-size: must be a positive multiple of 512, got " + size);
        }
        return new CreateParams(
                c.choice("create-type", CreateParams.DiskType.class, CreateParams.DiskType.MONOLITHIC_SPARSE),
                c.choice("create-adapter-type", CreateParams.AdapterType.class, CreateParams.AdapterType.SCSI_BUSLOGIC),
                c.has("create-hwversion") ? CreateParams.hwVersion(c.get("create-hwversion", "")) : 4,
                size / VixDiskLib.SECTOR);
    }

    boolean remote() {
        return server != null;
    }

    /** Every setting but the secrets: the password and the session cookie show only whether they are set. */
    @Override
    public String toString() {
        return "VddkSettings[file=" + file + ", libdir=" + libdir + ", config=" + config + ", server=" + server
                + ", user=" + user + ", password=" + (password == null ? null : "(hidden)")
                + ", cookie=" + (cookie == null ? null : "(hidden)") + ", thumbprint=" + thumbprint + ", vm=" + vm
                + ", snapshot=" + snapshot + ", transports=" + transports + ", port=" + port
                + ", nfcHostPort=" + nfcHostPort + ", singleLink=" + singleLink + ", unbuffered=" + unbuffered
                + ", compression=" + compression + ", create=" + create + ", stats=" + stats + "]";
    }

    /** Open flags for a connection, read-only or not. */
    int openFlags(boolean readOnly) {
        return (readOnly ? VixDiskLib.OPEN_READ_ONLY : 0) | (singleLink ? VixDiskLib.OPEN_SINGLE_LINK : 0)
                | (unbuffered ? VixDiskLib.OPEN_UNBUFFERED : 0) | compression.flag;
    }
}
