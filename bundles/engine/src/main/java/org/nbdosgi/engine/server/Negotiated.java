package org.nbdosgi.engine.server;

import org.nbdosgi.engine.export.Session;

/**
 * What the handshake agreed with one client; fixed from then on, the transmission runs by it.
 *
 * @param session               the client's attachment to the export it chose
 * @param structuredReplies     NBD_OPT_STRUCTURED_REPLY was acknowledged
 * @param baseAllocation        {@code base:allocation} was selected (NBD_OPT_SET_META_CONTEXT) for
 *                              this export, so NBD_CMD_BLOCK_STATUS may be sent
 * @param blockSizeAcknowledged the client asked for NBD_INFO_BLOCK_SIZE in NBD_OPT_GO, so its
 *                              requests must respect the minimum block size
 * @param transmissionFlags     the NBD_FLAG_* sent with the export
 * @param noZeroes              the client set NBD_FLAG_C_NO_ZEROES
 */
record Negotiated(Session session, boolean structuredReplies, boolean baseAllocation, boolean blockSizeAcknowledged,
                  int transmissionFlags, boolean noZeroes) {

    /** Whether the export was sent with transmission flag {@code flag} (NBD_FLAG_*). */
    boolean has(int flag) {
        return (transmissionFlags & flag) != 0;
    }
}
