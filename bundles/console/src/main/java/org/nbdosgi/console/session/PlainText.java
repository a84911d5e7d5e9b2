package org.nbdosgi.console.session;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Output without ANSI escape sequences (colours, cursor movements), for a reader that is no
 * terminal: {@code nbd-osgi-client}, an SSH command without a pseudo-terminal. Gogo counts a
 * session's own output as a terminal whatever it is, so its commands ({@code grep}, {@code ls})
 * colour their output for scripts too; this drops what they add. Drops CSI sequences
 * ({@code ESC [ ... final}), OSC strings ({@code ESC ] ... BEL} or {@code ESC \}) and two-byte
 * escapes ({@code ESC =}, {@code ESC ( B}); every other byte passes unchanged (UTF-8 included: no sequence byte is
 * above 0x7f).
 */
public final class PlainText extends FilterOutputStream {
    private static final int ESC = 0x1b;
    private static final int BEL = 0x07;

    private enum State { TEXT, ESCAPE, CSI, OSC, OSC_ESCAPE }

    private State state = State.TEXT;

    public PlainText(OutputStream out) {
        super(out);
    }

    @Override
    public void write(int b) throws IOException {
        b &= 0xff;
        switch (state) {
            case TEXT -> {
                if (b == ESC) {
                    state = State.ESCAPE;
                } else {
                    out.write(b);
                }
            }
            case ESCAPE -> state = b == '[' ? State.CSI : b == ']' ? State.OSC
                    : b >= 0x20 && b <= 0x2f ? State.ESCAPE : State.TEXT;   // ESC ( B: intermediates, then a final byte
            case CSI -> {
                if (b >= 0x40 && b <= 0x7e) {            // the final byte; parameters and intermediates come before
                    state = State.TEXT;
                }
            }
            case OSC -> state = b == BEL ? State.TEXT : b == ESC ? State.OSC_ESCAPE : State.OSC;
            case OSC_ESCAPE -> state = b == '\\' ? State.TEXT : State.OSC;
        }
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        int end = off + len;
        int text = off;                                 // where the plain text not yet written starts
        for (int i = off; i < end; i++) {
            if (state == State.TEXT && b[i] != ESC) {
                continue;
            }
            out.write(b, text, i - text);
            write(b[i]);
            text = i + 1;
        }
        out.write(b, text, end - text);
    }
}
