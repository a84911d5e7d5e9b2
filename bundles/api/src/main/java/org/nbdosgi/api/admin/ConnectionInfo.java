package org.nbdosgi.api.admin;

import java.time.Instant;

/**
 * A snapshot of one client connection.
 *
 * @param export        the export it is attached to (null while still negotiating)
 * @param requestedName the export name the client asked for
 */
public record ConnectionInfo(long id, String clientAddress, String export, String requestedName, Instant since,
                             int inFlight, long requests, long bytesRead, long bytesWritten) {
}
