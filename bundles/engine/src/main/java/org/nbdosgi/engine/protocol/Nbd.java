package org.nbdosgi.engine.protocol;

/** Numbers of the NBD protocol (../shared/reference/nbd-protocol.md), named as in the spec. */
public final class Nbd {
    private Nbd() {
    }

    public static final long NBDMAGIC = 0x4e42444d41474943L;
    public static final long IHAVEOPT = 0x49484156454F5054L;
    public static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    public static final int REQUEST_MAGIC = 0x25609513;
    /** A transmission request's header, in bytes (a write's payload follows it). */
    public static final int REQUEST_SIZE = 28;
    /** Where a request header's type (16 bits) and length (32 bits) are, after magic, flags, cookie and offset. */
    public static final int REQUEST_TYPE_AT = 6;
    public static final int REQUEST_LENGTH_AT = 24;
    public static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    public static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;

    // handshake flags (server) and client flags
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 2;
    public static final int FLAG_C_FIXED_NEWSTYLE = 1;
    public static final int FLAG_C_NO_ZEROES = 2;

    // transmission flags
    public static final int FLAG_HAS_FLAGS = 1;
    public static final int FLAG_READ_ONLY = 1 << 1;
    public static final int FLAG_SEND_FLUSH = 1 << 2;
    public static final int FLAG_SEND_FUA = 1 << 3;
    public static final int FLAG_ROTATIONAL = 1 << 4;
    public static final int FLAG_SEND_TRIM = 1 << 5;
    public static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
    public static final int FLAG_SEND_DF = 1 << 7;
    public static final int FLAG_CAN_MULTI_CONN = 1 << 8;
    public static final int FLAG_SEND_CACHE = 1 << 10;
    public static final int FLAG_SEND_FAST_ZERO = 1 << 11;

    // options
    public static final int OPT_EXPORT_NAME = 1;
    public static final int OPT_ABORT = 2;
    public static final int OPT_LIST = 3;
    public static final int OPT_STARTTLS = 5;
    public static final int OPT_INFO = 6;
    public static final int OPT_GO = 7;
    public static final int OPT_STRUCTURED_REPLY = 8;
    public static final int OPT_LIST_META_CONTEXT = 9;
    public static final int OPT_SET_META_CONTEXT = 10;

    // option replies
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_ERR_UNSUP = 0x80000001;
    public static final int REP_ERR_POLICY = 0x80000002;
    public static final int REP_ERR_INVALID = 0x80000003;
    public static final int REP_ERR_PLATFORM = 0x80000004;
    public static final int REP_ERR_TLS_REQD = 0x80000005;
    public static final int REP_ERR_UNKNOWN = 0x80000006;
    public static final int REP_ERR_SHUTDOWN = 0x80000007;
    public static final int REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
    public static final int REP_ERR_TOO_BIG = 0x80000009;

    // info types
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;

    // commands
    public static final int CMD_READ = 0;
    public static final int CMD_WRITE = 1;
    public static final int CMD_DISC = 2;
    public static final int CMD_FLUSH = 3;
    public static final int CMD_TRIM = 4;
    public static final int CMD_CACHE = 5;
    public static final int CMD_WRITE_ZEROES = 6;
    public static final int CMD_BLOCK_STATUS = 7;

    // command flags
    public static final int CMD_FLAG_FUA = 1;
    public static final int CMD_FLAG_NO_HOLE = 1 << 1;
    public static final int CMD_FLAG_DF = 1 << 2;
    public static final int CMD_FLAG_REQ_ONE = 1 << 3;
    public static final int CMD_FLAG_FAST_ZERO = 1 << 4;

    // structured replies
    public static final int REPLY_FLAG_DONE = 1;
    public static final int REPLY_TYPE_NONE = 0;
    public static final int REPLY_TYPE_OFFSET_DATA = 1;
    public static final int REPLY_TYPE_OFFSET_HOLE = 2;
    public static final int REPLY_TYPE_BLOCK_STATUS = 5;
    public static final int REPLY_TYPE_ERROR = 0x8001;
    public static final int REPLY_TYPE_ERROR_OFFSET = 0x8002;


    /** Longest string (export name, description, query) the spec lets us accept. */
    public static final int MAX_STRING = 4096;

    /** The spec's name of an option, for logs ({@code NBD_OPT_GO}). */
    public static String optionName(int option) {
        return switch (option) {
            case OPT_EXPORT_NAME -> "NBD_OPT_EXPORT_NAME";
            case OPT_ABORT -> "NBD_OPT_ABORT";
            case OPT_LIST -> "NBD_OPT_LIST";
            case OPT_STARTTLS -> "NBD_OPT_STARTTLS";
            case OPT_INFO -> "NBD_OPT_INFO";
            case OPT_GO -> "NBD_OPT_GO";
            case OPT_STRUCTURED_REPLY -> "NBD_OPT_STRUCTURED_REPLY";
            case OPT_LIST_META_CONTEXT -> "NBD_OPT_LIST_META_CONTEXT";
            case OPT_SET_META_CONTEXT -> "NBD_OPT_SET_META_CONTEXT";
            default -> "option " + option;
        };
    }

    /** NBD_REP_ACK, NBD_REP_INFO...; an error's name for the error replies. */
    public static String replyName(int type) {
        return switch (type) {
            case REP_ACK -> "NBD_REP_ACK";
            case REP_SERVER -> "NBD_REP_SERVER";
            case REP_INFO -> "NBD_REP_INFO";
            case REP_META_CONTEXT -> "NBD_REP_META_CONTEXT";
            case REP_ERR_UNSUP -> "NBD_REP_ERR_UNSUP";
            case REP_ERR_POLICY -> "NBD_REP_ERR_POLICY";
            case REP_ERR_INVALID -> "NBD_REP_ERR_INVALID";
            case REP_ERR_UNKNOWN -> "NBD_REP_ERR_UNKNOWN";
            case REP_ERR_SHUTDOWN -> "NBD_REP_ERR_SHUTDOWN";
            case REP_ERR_TOO_BIG -> "NBD_REP_ERR_TOO_BIG";
            default -> "reply " + Integer.toHexString(type);
        };
    }

    public static String commandName(int type) {
        return switch (type) {
            case CMD_READ -> "read";
            case CMD_WRITE -> "write";
            case CMD_DISC -> "disconnect";
            case CMD_FLUSH -> "flush";
            case CMD_TRIM -> "trim";
            case CMD_CACHE -> "cache";
            case CMD_WRITE_ZEROES -> "write-zeroes";
            case CMD_BLOCK_STATUS -> "block-status";
            default -> "command " + type;
        };
    }
}
