package org.nbdosgi.api.admin;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

import org.nbdosgi.api.ConfigException;

/**
 * The engine's management interface, used by the console and the command line. Control plane:
 * calls are serialized by the engine and may block while exports start or drain.
 */
public interface ServerAdmin {

    List<ExportInfo> exports();

    List<ConnectionInfo> connections();

    /** One export, or null if there is none of that name. */
    ExportInfo export(String name);

    /**
     * Creates and starts an export that serves the names that lead to it: its own, and
     * {@code NAME/rest} for a chain that serves several names. Refused if the name is taken or the
     * chain cannot start.
     */
    default ExportInfo addExport(ExportSpec spec) throws ConfigException {
        return addExport(spec, false);
    }

    /**
     * As {@link #addExport(ExportSpec)}; a {@code catchAll} export also serves every name no other
     * export has, the whole name passed to its chain (the command line's one export, as nbdkit's
     * plugin sees every name). Without one, a client asking for an unknown name is refused.
     */
    ExportInfo addExport(ExportSpec spec, boolean catchAll) throws ConfigException;

    /**
     * Changes a running export's chain (filters, parameters, read-only) while its clients stay
     * connected: the export drains (requests wait, none fail), the old layers close, the new ones
     * open, each client's handles reopen, and requests resume. Refused, with the old chain kept, if
     * the new chain cannot start or would break what a connected client was promised (size, write,
     * flush, FUA, trim, zero, multi-conn, block size); with {@code force} those clients are
     * disconnected instead. A parked or failed export takes the new chain only if it starts now,
     * with the same checks; otherwise the change is refused and the export stays as it was, so a
     * successful return means the export is running.
     */
    ExportInfo rewire(String name, ExportSpec spec, boolean force) throws ConfigException;

    /** Stops an export: its clients are told ESHUTDOWN and disconnected. */
    void removeExport(String name) throws ConfigException;

    /** Starts accepting clients on a TCP address; returns the port (useful when asking for port 0). */
    int listenTcp(InetSocketAddress address) throws IOException;

    /** Starts accepting clients on a Unix domain socket, created at {@code path}. */
    void listenUnix(Path path) throws IOException;
}
