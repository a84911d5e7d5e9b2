package org.nbdosgi.tls.openssl;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * OpenSSL's error queue as one readable line. The queue is per OS thread: callers clear it before a
 * call and read it right after, with no blocking in between, so a virtual thread stays on the same
 * carrier for both.
 */
final class OpenSslErrors {
    private OpenSslErrors() {
    }

    /** The reasons queued since the last clear ("certificate verify failed; ..."), and clears them. */
    static String drain() {
        Set<String> reasons = new LinkedHashSet<>();
        byte[] buf = new byte[256];
        long e;
        while ((e = LibSsl.ERR_get_error()) != 0) {
            LibSsl.ERR_error_string_n(e, buf, buf.length);
            int end = 0;
            while (end < buf.length && buf[end] != 0) {
                end++;
            }
            String s = new String(buf, 0, end, StandardCharsets.UTF_8);
            // "error:0A000086:SSL routines::certificate verify failed": the reason is the last part
            reasons.add(s.substring(s.lastIndexOf(':') + 1));
        }
        return reasons.isEmpty() ? "unknown error" : String.join("; ", reasons);
    }
}
