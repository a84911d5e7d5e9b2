package org.nbdosgi.engine.server;

import java.util.List;

import org.nbdosgi.engine.export.Session;

/**
 * What the handshake agreed with one client; fixed from then on, the transmission runs by it.
 *
 * @param session               the client's attachment to the export it chose
 * @param structuredReplies     NBD_OPT_STRUCTURED_REPLY was acknowledged
 * @param metaContexts          the meta contexts selected (NBD_OPT_SET_META_CONTEXT) for this export,
 *                              context id i + 1 for the i-th; NBD_CMD_BLOCK_STATUS may be sent
 *                              when there is at least one
 * @param blockSizeAcknowledged the client asked for NBD_INFO_BLOCK_SIZE in NBD_OPT_GO, so its
 *                              requests must respect the minimum block size
 * @param transmissionFlags     the NBD_FLAG_* sent with the export
 * @param noZeroes              the client set NBD_FLAG_C_NO_ZEROES
 */
record Negotiated(Session session, boolean structuredReplies, List<String> metaContexts, boolean blockSizeAcknowledged,
                  int transmissionFlags, boolean noZeroes) {

    /** Whether the export was sent with transmission flag {@code flag} (NBD_FLAG_*). */
    boolean has(int flag) {
        return (transmissionFlags & flag) != 0;
    }
}
