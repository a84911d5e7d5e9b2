package org.nbdosgi.api;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * The engine's management interface, used by the console and the command line. Control plane:
 * calls are serialized by the engine and may block while exports start or drain.
 */
public interface ServerAdmin {

    List<ExportInfo> exports();

    List<ConnectionInfo> connections();

    /** Creates and starts an export. Refused if the name is taken or the chain cannot start. */
    ExportInfo addExport(ExportSpec spec) throws ConfigException;

    /** Stops an export: its clients are told ESHUTDOWN and disconnected. */
    void removeExport(String name) throws ConfigException;

    /** Starts accepting clients on a TCP address; returns the port (useful when asking for port 0). */
    int listenTcp(InetSocketAddress address) throws IOException;

    /** Starts accepting clients on a Unix domain socket, created at {@code path}. */
    void listenUnix(Path path) throws IOException;
}
