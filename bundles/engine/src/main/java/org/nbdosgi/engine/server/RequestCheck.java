package org.nbdosgi.engine.server;

import org.nbdosgi.api.BlockSize;
import org.nbdosgi.api.NbdError;
import org.nbdosgi.engine.chain.Boundary;
import org.nbdosgi.engine.protocol.Nbd;

/**
 * Whether a request may reach the chain, by what was negotiated: its command and flags, read-only,
 * the size and block size promised, the payload limit. Data plane (the connection's reader).
 *
 * <p>Where the spec leaves the answer open, the answer is nbdkit's: a request of length zero (the
 * spec says a client SHOULD NOT send one and the server SHOULD NOT disconnect) is refused, with
 * ENOSPC for a write or write-zeroes and EINVAL otherwise, and never reaches the chain, so no reply
 * to it can be malformed (a structured read reply's data chunk holds at least one byte). A flush
 * whose offset or length is not zero (the spec reserves them as zero) is refused with EINVAL.
 */
final class RequestCheck {
    /** Why a request is refused, and the error its client gets. */
    record Refusal(NbdError error, String reason) {
    }

    private final long size;
    private final int alignment;
    private final int maxPayload;
    private final int transmissionFlags;
    private final boolean structured;
    private final boolean blockStatus;

    RequestCheck(long size, int alignment, int maxPayload, int transmissionFlags, boolean structured, boolean blockStatus) {
        this.size = size;
        this.alignment = alignment;
        this.maxPayload = maxPayload;
        this.transmissionFlags = transmissionFlags;
        this.structured = structured;
        this.blockStatus = blockStatus;
    }

    /** The checks for a client's transmission: the export as promised at the end of its handshake. */
    static RequestCheck of(Negotiated n) {
        Boundary promised = n.session().top();
        BlockSize bs = promised.blockSize();
        return new RequestCheck(promised.size(), n.blockSizeAcknowledged() ? bs.minimum() : 1, maxPayload(bs),
                n.transmissionFlags(), n.structuredReplies(), !n.metaContexts().isEmpty());
    }

    /** The largest read or write payload the server takes for an export of this block size. */
    static int maxPayload(BlockSize bs) {
        return Math.min(bs.maximum(), BlockSize.MAX_PAYLOAD);
    }

    /** Why this request is refused, or null if it may run. */
    Refusal check(int type, int flags, long offset, long length) {
        int allowed = Nbd.CMD_FLAG_FUA;
        switch (type) {
            case Nbd.CMD_READ -> allowed |= structured ? Nbd.CMD_FLAG_DF : 0;
            case Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_CACHE -> { }
            case Nbd.CMD_WRITE_ZEROES -> allowed |= Nbd.CMD_FLAG_NO_HOLE
                    | (has(Nbd.FLAG_SEND_FAST_ZERO) ? Nbd.CMD_FLAG_FAST_ZERO : 0);
            case Nbd.CMD_BLOCK_STATUS -> allowed |= Nbd.CMD_FLAG_REQ_ONE;
            default -> {
                return invalid("unknown command " + type);
            }
        }
        if ((flags & Nbd.CMD_FLAG_FUA) != 0 && !has(Nbd.FLAG_SEND_FUA)) {
            allowed &= ~Nbd.CMD_FLAG_FUA;
        }
        if ((flags & ~allowed) != 0) {
            return invalid("flags 0x" + Integer.toHexString(flags) + " are not valid for " + Nbd.commandName(type));
        }
        boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
        if (writes && has(Nbd.FLAG_READ_ONLY)) {
            return new Refusal(NbdError.EPERM, "the export is read-only");
        }
        String unsupported = switch (type) {
            case Nbd.CMD_FLUSH -> has(Nbd.FLAG_SEND_FLUSH) ? null : "flush is not supported";
            case Nbd.CMD_TRIM -> has(Nbd.FLAG_SEND_TRIM) ? null : "trim is not supported";
            case Nbd.CMD_WRITE_ZEROES -> has(Nbd.FLAG_SEND_WRITE_ZEROES) ? null : "write zeroes is not supported";
            case Nbd.CMD_CACHE -> has(Nbd.FLAG_SEND_CACHE) ? null : "cache is not supported";
            case Nbd.CMD_BLOCK_STATUS -> !blockStatus ? "block status needs a meta context selected for this export" : null;
            default -> null;
        };
        if (unsupported != null) {
            return invalid(unsupported);
        }
        boolean writesData = type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES;
        if (type == Nbd.CMD_FLUSH) {
            return offset == 0 && length == 0 ? null : invalid("a flush's offset and length must be zero");
        }
        if (length == 0) {
            return new Refusal(writesData ? NbdError.ENOSPC : NbdError.EINVAL, Nbd.commandName(type) + " of length zero");
        }
        if ((type == Nbd.CMD_READ || type == Nbd.CMD_WRITE) && length > maxPayload) {
            return invalid("request of " + length + " bytes is larger than the maximum " + maxPayload);
        }
        if (offset < 0 || offset > size - length) {
            String why = "request " + Long.toUnsignedString(offset) + "+" + length + " is beyond the end of the export (" + size + ")";
            return new Refusal(writesData ? NbdError.ENOSPC : NbdError.EINVAL, why);
        }
        if (alignment > 1 && (offset % alignment != 0 || length % alignment != 0)) {
            return invalid("request is not aligned to the minimum block size " + alignment);
        }
        return null;
    }

    private boolean has(int flag) {
        return (transmissionFlags & flag) != 0;
    }

    private static Refusal invalid(String reason) {
        return new Refusal(NbdError.EINVAL, reason);
    }
}
