package org.nbdosgi.filter.ext2;

import org.nbdosgi.api.NbdError;
import org.nbdosgi.api.NbdException;

import com.sun.jna.Pointer;

/** Turns libext2fs error codes into readable messages and the NBD error a client should see. */
final class Ext2Error {
    private Ext2Error() {
    }

    /** The library's text for {@code code}: an errno's strerror, or the ext2 table's message. */
    static String text(long code) {
        Pointer p = LibExt2fs.ComErr.error_message(code);
        return p == null ? "error " + code : p.getString(0, "UTF-8");
    }

    /** The NBD error nearest to {@code code}: errno values map as usual, running out of blocks is ENOSPC. */
    static NbdError nbdError(long code) {
        if (code > 0 && code < 4096) {
            return NbdError.fromErrno((int) code);
        }
        if (code == LibExt2fs.ET_BLOCK_ALLOC_FAIL) {
            return NbdError.ENOSPC;
        }
        if (code == LibExt2fs.ET_RO_FILSYS || code == LibExt2fs.ET_FILE_RO) {
            return NbdError.EPERM;
        }
        return NbdError.EIO;
    }

    /** "{@code what}: {@code text}", carrying the NBD error for {@code code}. */
    static NbdException of(String what, long code) {
        return new NbdException(nbdError(code), what + ": " + text(code));
    }
}
